"""How counts and dates read on pages, in messages, in mail and on the command line: the one home of both."""
from __future__ import annotations

from datetime import date

# Nouns whose plural is not the singular with "s" (or "es"), as Rollcall uses them.
IRREGULAR = {"person": "people", "staff": "staff", "criterion": "criteria", "child": "children"}


def plural_of(noun: str) -> str:
    """The plural of a noun (its last word), keeping the words before it."""
    head, _, last = noun.rpartition(" ")
    if last in IRREGULAR:
        word = IRREGULAR[last]
    elif last.endswith(("s", "x", "z", "ch", "sh")):
        word = last + "es"
    elif last.endswith("y") and last[-2:-1] not in "aeiou":
        word = last[:-1] + "ies"
    else:
        word = last + "s"
    return f"{head} {word}" if head else word


def plural(count: int, noun: str, many: str | None = None) -> str:
    """A count with its noun agreeing: "1 officer", "3 officers", "0 officers", "1,250 people"."""
    return f"{count:,} {noun if count == 1 else many or plural_of(noun)}"


def agree(count: int, one: str, many: str) -> str:
    """The verb (or words) agreeing with a count: agree(1, "holds", "hold") -> "holds"."""
    return one if count == 1 else many


NEVER = "does not expire"


def day(value: date | None) -> str:
    """A date as every page shows it: ISO 8601, like the CSV files (2026-12-31). The last day there is, a signed
    document's expiry, is a day that never comes: a person reads that it does not expire."""
    if value is None:
        return ""
    return NEVER if value == date.max else value.isoformat()



def sentence(said: object) -> str:
    """A refusal's words (an exception or a phrase) as a sentence to show: a capital first, a full stop last."""
    text = str(said)
    return f"{text[:1].upper()}{text[1:]}" + ("" if text.endswith(".") else ".")
