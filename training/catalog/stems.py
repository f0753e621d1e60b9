"""Question stems that repeat one another, in one bank or across banks."""
from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass

from training.catalog.reading import Problems

# Two stems at least this alike (difflib's ratio of their normalised texts) are checked word by word.
STEM_SIMILARITY = 0.9
# Words whose change alone does not make a different question: articles, demonstratives and "of".
SMALL_WORDS = frozenset({"a", "an", "the", "this", "that", "these", "those", "of"})
# A word made from another with one of these prefixes says the opposite (armed, unarmed): a real difference.
NEGATING_PREFIXES = ("un", "non", "in", "im", "il", "ir", "dis")


@dataclass(frozen=True)
class Stem:
    path: str
    line: int | None
    key: str
    text: str       # normalised


def normalise_stem(stem: str) -> str:
    """The stem as compared for duplicates: case folded, Markdown and punctuation gone, spacing collapsed."""
    text = unicodedata.normalize("NFKC", stem).casefold()
    return " ".join(re.sub(r"[\W_]+", " ", text).split())


def _variant(one: str, other: str) -> bool:
    """Whether two words are one word spelt or inflected differently: the longer is the shorter, of four
    letters or more, with one letter added after its first (officer, officers; behavior, behaviour; claimng,
    claiming). Not he and she, his and this, lawful and awful, nor shoot and shout, nor 3 and 30."""
    short, long = sorted((one, other), key=len)
    if len(short) < 4 or len(long) != len(short) + 1 or any(ch.isdigit() for ch in long):
        return False
    if any(long == prefix + short for prefix in NEGATING_PREFIXES):
        return False
    return any(long[:i] + long[i + 1:] == short for i in range(1, len(long)))


def trivial_difference(one: str, other: str) -> bool:
    """Whether two normalised stems differ only in small words (a, the, of...) and in spelling or word form."""
    a, b = one.split(), other.split()
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        if op == "replace" and i2 - i1 == j2 - j1:
            pairs = zip(a[i1:i2], b[j1:j2], strict=True)
            if all(x == y or _variant(x, y) or (x in SMALL_WORDS and y in SMALL_WORDS) for x, y in pairs):
                continue
            return False
        if not all(word in SMALL_WORDS for word in a[i1:i2] + b[j1:j2]):
            return False
    return True


def check_stems(stems: list[Stem], problems: Problems) -> None:
    """Refuse a stem that repeats another, in its bank or another, up to case, punctuation, spacing, small
    words and spelling; warn about stems that are merely alike (they may be deliberate pairs)."""
    for n, later in enumerate(stems):
        matcher = difflib.SequenceMatcher(None, autojunk=False)
        matcher.set_seq2(later.text)    # the matcher keeps what it learns of its second text
        for earlier in stems[:n]:
            where = f"{earlier.path}:{earlier.line}" if earlier.line else earlier.path
            if earlier.text == later.text:
                problems.add(later.path, later.line,
                             f"question {later.key} has the same stem as question {earlier.key} ({where}), "
                             f"ignoring case, punctuation and spacing: remove one, or make it ask something else")
                continue
            matcher.set_seq1(earlier.text)
            if matcher.real_quick_ratio() < STEM_SIMILARITY or matcher.quick_ratio() < STEM_SIMILARITY:
                continue
            likeness = matcher.ratio()
            if likeness < STEM_SIMILARITY:
                continue
            if trivial_difference(earlier.text, later.text):
                problems.add(later.path, later.line,
                             f"question {later.key} has nearly the same stem as question {earlier.key} ({where}): "
                             f"they differ only in small words, spelling or punctuation; remove one, "
                             f"or make it ask something else")
            else:
                problems.warn(later.path, later.line,
                              f"question {later.key}'s stem is {int(likeness * 100)}% like question "
                              f"{earlier.key}'s ({where}); if they ask the same thing, keep one")
