"""A course's change log: `changes:` in course.yaml, one entry per publication of a new version."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from training.catalog.reading import LINE_KEY, UNSTORABLE, UNSTORABLE_MESSAGE, Problems, date_value, key_line

# editorial: wording and typos, nobody retrains; policy: the rules changed, certified officers take an update.
CHANGE_KINDS = ("editorial", "policy")
ENTRY_KEYS = ("date", "kind", "summary")
EXAMPLE = "  - date: 2026-12-01\n    kind: policy\n    summary: What changed, in a sentence."


@dataclass(frozen=True)
class ChangeEntry:
    date: date
    kind: str
    summary: str
    line: int | None        # where the entry starts in course.yaml

    def describe(self) -> str:
        return f"{self.kind} change of {self.date.isoformat()}"


def changes_line(path: Path, data: dict) -> int | None:
    """The line of `changes:` in course.yaml, or of the file's first key when it has none."""
    return key_line(path, "changes", data.get(LINE_KEY))


def read_changes(data: dict, path: Path, problems: Problems) -> list[ChangeEntry]:
    """The entries of `changes:`, oldest first; every entry that is not a dated, kinded, summarised mapping is a
    problem at its line, and so is an entry dated before the one above it."""
    value = data.get("changes")
    if value is None:
        return []
    if not isinstance(value, list):
        problems.add(path, changes_line(path, data),
                     f"'changes' must be a list of entries, each with date, kind and summary, like\n{EXAMPLE}")
        return []
    entries: list[ChangeEntry] = []
    for index, item in enumerate(value, start=1):
        entry = _entry(item, index, path, data, problems)
        if entry is not None:
            entries.append(entry)
    for previous, entry in zip(entries, entries[1:]):
        if entry.date < previous.date:
            problems.add(path, entry.line,
                         f"the change of {entry.date.isoformat()} is listed after the change of "
                         f"{previous.date.isoformat()} (line {previous.line}): list changes oldest first, "
                         f"adding each new one at the end")
    return entries


def _entry(item: object, index: int, path: Path, data: dict, problems: Problems) -> ChangeEntry | None:
    label = f"'changes' entry {index}"
    if not isinstance(item, dict):
        problems.add(path, changes_line(path, data),
                     f"{label} must be a mapping with date, kind and summary, like\n{EXAMPLE}")
        return None
    line = item.get(LINE_KEY)
    before = len(problems.items)
    unknown = [str(key) for key in item if key != LINE_KEY and key not in ENTRY_KEYS]
    if unknown:
        problems.add(path, line, f"{label}: {', '.join(repr(key) for key in unknown)} "
                                 f"{'is' if len(unknown) == 1 else 'are'} not date, kind or summary")
    raw_date = item.get("date")
    day = date_value(raw_date)
    if raw_date is None or raw_date == "":
        problems.add(path, line, f"{label}: 'date' is required: the day the change is published, "
                                 f"like date: 2026-12-01")
    elif day is None:
        problems.add(path, line, f"{label}: 'date' must be a date like 2026-12-01, without a time")
    kind = item.get("kind")
    kind = kind.strip().lower() if isinstance(kind, str) else kind
    if kind not in CHANGE_KINDS:
        problems.add(path, line, f"{label}: 'kind' must be editorial (wording or typos: nobody retrains) or "
                                 f"policy (the rules changed: certified officers take an update); "
                                 f"{item.get('kind')!r} is neither")
    summary = item.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        problems.add(path, line, f"{label}: 'summary' is required: say in a sentence what changed")
    elif UNSTORABLE.search(summary):
        problems.add(path, line, f"{label}: 'summary' {UNSTORABLE_MESSAGE}")
    if len(problems.items) != before or day is None or not isinstance(summary, str):
        return None
    return ChangeEntry(day, str(kind), " ".join(summary.split()), line)
