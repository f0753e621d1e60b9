"""Backups with a manifest, and restoring one into an empty database."""
