"""Builders for the certificate, verification and transcript tests."""
from __future__ import annotations

from datetime import date, timedelta

from training.catalog.service import current_version
from training.records.models import Completion
from training.clock import today_for
from training.records.service import record_completion


def certify(session, officer, course, days_ago: int, score: int = 90, source: str = "quiz") -> Completion:
    """A completion `days_ago` days before the officer's today, as the quiz would record it."""
    version = current_version(session, course)
    completion = record_completion(session, officer, course, today_for(officer) - timedelta(days=days_ago),
                                   version_id=version.id if source == "quiz" else None, score=score,
                                   source=source)
    session.commit()
    return completion


def today(officer) -> date:
    return today_for(officer)
