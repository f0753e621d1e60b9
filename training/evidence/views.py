"""Evidence packets from an officer's page."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("evidence", __name__)
