"""Uploads the site refused: that one happened, for the coordinators' home pages; nothing of the file is kept."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from training.db import Base, utcnow


class ImportRefusal(Base):
    """An upload refused for its problems (nothing of it was written), with the scope of whoever uploaded it."""

    __tablename__ = "import_refusals"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))           # roster, completions, org
    filename: Mapped[str] = mapped_column(String(200))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    problems: Mapped[int]
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
