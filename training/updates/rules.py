"""The rules of versions and acknowledgements, as plain functions over plain values."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date

# Where the quiz's floor is enforced, at `courses sync`, is below this package, so it lives there.
from training.catalog.publishing import MIN_UPDATE_QUESTIONS as MIN_UPDATE_QUESTIONS

# Each officer certified when a policy change is published gets an update assignment with this reason.
UPDATE_REASON = "policy_update"
# A policy change's short quiz draws this many questions from those tied to the lessons that changed, never fewer
# than MIN_UPDATE_QUESTIONS (a change with fewer such questions is refused by `courses sync`).
UPDATE_QUESTIONS = 5
ACKNOWLEDGEMENT_STATUSES = ("acknowledged", "due", "overdue", "exempt")


def required_version(versions: Iterable[tuple[int, str | None]]) -> int:
    """The version number officers must have acknowledged, given a module's (number, change_kind) versions: the
    latest that published a policy change, else the first. Editorial versions, and versions published before
    change logs, ask nobody to sign again."""
    policy = [number for number, kind in versions if kind == "policy"]
    return max(policy, default=1)


def acknowledgement_status(on: date, *, acknowledged: int | None, required: int, open_due_on: date | None,
                           exempt: bool) -> str:
    """Where an officer stands with a module's or document's current version on a day; first match wins:
    `exempt` (an active exemption), `acknowledged` (they signed the required version or a later one),
    `overdue` (a newer version waits and its assignment is past due), else `due`."""
    if exempt:
        return "exempt"
    if acknowledged is not None and acknowledged >= required:
        return "acknowledged"
    if open_due_on is not None and on > open_due_on:
        return "overdue"
    return "due"


def version_label(kind: str, number: int, policy_version: str) -> str:
    """How a version is named to people: a document by the version its publisher gave, a module by its number."""
    return policy_version if kind == "document" else f"v{number}"
