"""`flask --app app evidence ...`."""
from __future__ import annotations

COMMANDS = ()
