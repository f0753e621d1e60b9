"""`flask --app app api-tokens ...`."""
from __future__ import annotations

COMMANDS = ()
