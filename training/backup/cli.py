"""`flask --app app backup ...` and `flask --app app restore ...`."""
from __future__ import annotations

COMMANDS = ()
