"""`flask --app app retention ...`."""
from __future__ import annotations

COMMANDS = ()
