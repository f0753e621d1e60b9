"""Reading and checking one question of a bank."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from training.catalog.reading import LINE_KEY, UNSTORABLE, UNSTORABLE_MESSAGE, Problems, text_field


@dataclass
class QuestionContent:
    key: str
    lesson: str
    stem: str
    choices: list[str]
    answer_index: int
    explanation: str
    source: str
    # Why each choice is wrong, in the order of `choices`; None at the right answer.
    wrong: list[str | None] = field(default_factory=list)


def read_question(item: Any, index: int, path: Path, lesson_slugs: set[str],
              problems: Problems) -> QuestionContent | None:
    if not isinstance(item, dict):
        problems.add(path, None, f"question {index} must be a mapping with id, stem, choices and answer")
        return None
    line = item.get(LINE_KEY)
    before = len(problems.items)
    key = text_field(item, "id", path, problems)
    lesson = text_field(item, "lesson", path, problems)
    stem = text_field(item, "stem", path, problems)
    explanation = text_field(item, "explanation", path, problems)
    source = text_field(item, "source", path, problems)
    answer = text_field(item, "answer", path, problems)
    label = f"question {key or index}"
    if lesson and lesson not in lesson_slugs:
        problems.add(path, line, f"{label}: lesson '{lesson}' is not a lesson of this course "
                                 f"(known: {', '.join(sorted(lesson_slugs)) or 'none'})")
    choices = item.get("choices")
    texts: list[str] = []
    letters: list[str] = []
    if not isinstance(choices, dict):
        problems.add(path, line, f"{label}: 'choices' must map letters to answers, like a: ..., b: ...")
    else:
        for letter, value in choices.items():
            if letter == LINE_KEY:
                continue
            if not isinstance(value, (str, int, float)) or not str(value).strip():
                problems.add(path, choices.get(LINE_KEY), f"{label}: choice '{letter}' is empty")
                continue
            if UNSTORABLE.search(str(value) + str(letter)):
                problems.add(path, choices.get(LINE_KEY), f"{label}: choice '{letter}' {UNSTORABLE_MESSAGE}")
                continue
            letters.append(str(letter))
            texts.append(str(value).strip())
        if not 3 <= len(texts) <= 6:
            problems.add(path, choices.get(LINE_KEY), f"{label}: needs 3 to 6 choices, has {len(texts)}")
        if len(set(texts)) != len(texts):
            problems.add(path, choices.get(LINE_KEY), f"{label}: two choices have the same text")
    if source and not SOURCE_LOCATOR.search(source):
        problems.add(path, line, f"{label}: 'source' names no section or page ({source!r}): point into the "
                                 f"document, like '§ VI.A.1', 'Part III', 'p. 4', 'JM 1-16.200' or "
                                 f"'471 U.S. 1, 11'")
    if answer and letters and answer not in letters:
        problems.add(path, line, f"{label}: answer '{answer}' is not one of the choices ({', '.join(letters)})")
    if len(problems.items) != before:
        return None
    wrong = wrong_notes(item.get("wrong"), letters, answer, label, line, path, problems)
    if wrong is None:
        return None
    return QuestionContent(key, lesson, stem, texts, letters.index(answer), explanation, source, wrong)


# How long the explanation of one wrong choice may be.
WRONG_LENGTH = (20, 1000)

# What makes a question's `source` point into its document rather than only name it: a section or paragraph
# sign; a numbered division (section 4, part III, ch. 2, module 2, step 3, standard 1, count 2); a named
# section or page ("Standard section", "Highlights page"); a page (p. 4, pp. 11-12, page ii); a Justice
# Manual number (1-16.200); a pin cite into a reporter (471 U.S. 1, 11; 17 F.3d 552, 557); or an outline
# number (III.C, VI.A.1).
SOURCE_LOCATOR = re.compile(r"""
    [§¶]
  | \b(?:sections?|secs?|paragraphs?|paras?|parts?|pts?|chapters?|ch|modules?|steps?|standards?|counts?|items?)
        (?:\.\s*|\s+)(?-i:\d|[IVX]+\b|[A-Z]\b)
  | (?-i:\b[A-Z][\w-]*\s+(?:[Ss]ection|page)\b)
  | \bpp?\.\s*(?:\d|[ivxl]+\b)
  | \bpages?\s+(?:\d|[ivxl]+\b)
  | \b\d+-\d+\.\d{3}\b
  | \b\d+\s+(?:U\.\s?S\.|F\.\s?(?:\d(?:d|th))?|F\.\s?Supp\.(?:\s?\dd)?|S\.\s?Ct\.)\s+\d+,\s*\d+
  | (?-i:\b[IVX]+\.[A-Z](?:\.\d+)*\b)
""", re.IGNORECASE | re.VERBOSE)


def wrong_notes(wrong: Any, letters: list[str], answer: str, label: str, line: int | None, path: Path,
           problems: Problems) -> list[str | None] | None:
    """The explanation of each wrong choice, in the order of `letters`; None at the answer."""
    expected = [letter for letter in letters if letter != answer]
    if wrong is None:
        problems.add(path, line, f"{label}: 'wrong' is required: for each wrong choice ({', '.join(expected)}), "
                                 f"why it is wrong")
        return None
    if not isinstance(wrong, dict):
        problems.add(path, line, f"{label}: 'wrong' must map each wrong choice's letter to why it is wrong, "
                                 f"like {expected[0]}: ...")
        return None
    where = wrong.get(LINE_KEY, line)
    given = {str(letter): value for letter, value in wrong.items() if letter != LINE_KEY}
    before = len(problems.items)
    if answer in given:
        problems.add(path, where, f"{label}: 'wrong' explains '{answer}', the right answer; "
                                  f"that belongs in 'explanation'")
    unknown = [letter for letter in given if letter not in letters]
    if unknown:
        problems.add(path, where, f"{label}: 'wrong' names {', '.join(repr(u) for u in unknown)}, "
                                  f"which {'is' if len(unknown) == 1 else 'are'} not a choice")
    missing = [letter for letter in expected if letter not in given]
    if missing:
        problems.add(path, where, f"{label}: 'wrong' does not say why {', '.join(missing)} "
                                  f"{'is' if len(missing) == 1 else 'are'} wrong")
    lo, hi = WRONG_LENGTH
    notes: dict[str, str] = {}
    for letter in expected:
        if letter not in given:
            continue
        value = given[letter]
        if value is None or (isinstance(value, str) and not value.strip()):
            problems.add(path, where, f"{label}: 'wrong' {letter} is empty")
            continue
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            problems.add(path, where, f"{label}: 'wrong' {letter} must be text")
            continue
        text = str(value).strip()
        if UNSTORABLE.search(text):
            problems.add(path, where, f"{label}: 'wrong' {letter} {UNSTORABLE_MESSAGE}")
        elif not lo <= len(text) <= hi:
            problems.add(path, where, f"{label}: 'wrong' {letter} is {len(text)} characters long; "
                                      f"write {lo} to {hi}")
        else:
            notes[letter] = text
    if len(problems.items) != before:
        return None
    return [None if letter == answer else notes[letter] for letter in letters]
