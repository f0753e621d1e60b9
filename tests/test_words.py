"""Counts and dates read the same everywhere: "1 officer", "3 officers", never "officer(s)"."""
from __future__ import annotations

import re
from datetime import date

import pytest

from tests.support.paths import ROOT
from training.words import agree, day, plural, plural_of

# Being rewritten in another branch of this round (the outbox page, the audit trail's commands).
MAYBE_PLURAL = re.compile(r"(?<![.\w])[a-z][a-z-]*\(s\)|\b(day|minute|hour|officer|problem|record)\{\{")


@pytest.mark.parametrize("count, noun, expected", [
    (1, "officer", "1 officer"), (3, "officer", "3 officers"), (0, "officer", "0 officers"),
    (1, "person", "1 person"), (2, "person", "2 people"), (2, "agency", "2 agencies"), (2, "day", "2 days"),
    (2, "overdue training record", "2 overdue training records"), (2, "pending reminder", "2 pending reminders"),
    (2, "class", "2 classes"), (1250, "problem", "1,250 problems"), (2, "criterion", "2 criteria"),
])
def test_a_count_agrees_with_its_noun(count, noun, expected):
    assert plural(count, noun) == expected


def test_an_irregular_plural_can_be_given():
    assert plural(2, "staff member", "staff") == "2 staff" and plural(1, "staff member", "staff") == "1 staff member"
    assert plural_of("unit coordinator") == "unit coordinators"


def test_a_verb_agrees_with_its_count():
    assert [agree(n, "holds", "hold") for n in (0, 1, 2)] == ["hold", "holds", "hold"]


def test_dates_show_as_iso_days():
    assert day(date(2026, 12, 31)) == "2026-12-31" and day(None) == ""
    assert day(date.max) == "does not expire"    # a signed document's expiry: a day that never comes


def test_the_filters_render_in_templates(app):
    with app.app_context():
        render = app.jinja_env.from_string('{{ n | plural("officer") }} due {{ d | day }}').render
        assert render(n=1, d=date(2026, 1, 2)) == "1 officer due 2026-01-02"
        assert render(n=4, d=date(2026, 1, 2)) == "4 officers due 2026-01-02"


def test_no_page_mail_message_or_command_writes_a_noun_with_s_in_brackets():
    sources = [*(ROOT / "templates").rglob("*.html"), *(ROOT / "templates").rglob("*.txt"),
               *(ROOT / "training").rglob("*.py")]
    found = []
    for path in sources:
        name = str(path.relative_to(ROOT))
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if MAYBE_PLURAL.search(line):
                found.append(f"{name}:{number}: {line.strip()}")
    assert found == []
