"""Policy updates: when a module's rules change, officers already certified read what changed, pass a short
quiz and acknowledge the new version; every acknowledgement, of a module, an update or a document, is kept."""
