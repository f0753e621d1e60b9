"""What changed between two versions of a module's lessons, and the changed text marked up for reading.

A lesson is compared by its slug; its text block by block (paragraphs, lists, headings), and a rewritten block
word by word. Added text is marked <ins>, removed text <del>, each announced to screen readers by a hidden
"Added:"/"Removed:"; unchanged blocks next to a change are shown as the lesson shows them, the others folded
into a <details> the officer can open.
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from markupsafe import Markup, escape

from training.catalog.render import render_markdown
from training.words import plural

BLOCK_SPLIT = re.compile(r"\n\s*\n")
# Unchanged paragraphs shown on each side of a change; the others are folded.
CONTEXT = 1
WORDS = re.compile(r"\s+|[^\s]+")


class LessonText(Protocol):
    slug: str
    title: str
    body_md: str


@dataclass
class LessonChange:
    slug: str
    title: str
    kind: str                   # "added", "changed" or "removed"
    before: str                 # the text as signed ("" for an added lesson)
    after: str                  # the text now ("" for a removed lesson)
    lesson: LessonText | None   # the current lesson (None when removed)

    @property
    def marked(self) -> Markup:
        return marked_diff(self.before, self.after)


def lesson_changes(before: Sequence[LessonText], after: Sequence[LessonText]) -> list[LessonChange]:
    """The lessons added, rewritten or removed going from `before` to `after`, in the order of `after` (removed
    ones last)."""
    old = {lesson.slug: lesson for lesson in before}
    changes = []
    for lesson in after:
        previous = old.pop(lesson.slug, None)
        if previous is None:
            changes.append(LessonChange(lesson.slug, lesson.title, "added", "", lesson.body_md, lesson))
        elif previous.body_md != lesson.body_md or previous.title != lesson.title:
            changes.append(LessonChange(lesson.slug, lesson.title, "changed", previous.body_md, lesson.body_md,
                                        lesson))
    changes.extend(LessonChange(lesson.slug, lesson.title, "removed", lesson.body_md, "", None)
                   for lesson in old.values())
    return changes


def _blocks(text: str) -> list[str]:
    return [block.strip() for block in BLOCK_SPLIT.split(text.strip()) if block.strip()]


def _added(html: Markup | str) -> Markup:
    return Markup('<ins class="diff-added"><span class="usa-sr-only">Added: </span>{}</ins>').format(html)


def _removed(html: Markup | str) -> Markup:
    return Markup('<del class="diff-removed"><span class="usa-sr-only">Removed: </span>{}</del>').format(html)


def _words(before: str, after: str) -> Markup:
    """One rewritten block, word by word, as plain text with the added and removed words marked."""
    old, new = WORDS.findall(before), WORDS.findall(after)
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if op in ("delete", "replace"):
            out.append(_removed(escape("".join(old[i1:i2]))))
        if op in ("insert", "replace"):
            out.append(_added(escape("".join(new[j1:j2]))))
        if op == "equal":
            out.append(escape("".join(old[i1:i2])))
    return Markup('<p class="diff-block">{}</p>').format(Markup("").join(out))


def _render(block: str) -> Markup:
    """A block as the lesson renders it, its headings two levels down: the update page titles each lesson."""
    return render_markdown(block, below=2)


def _unchanged(blocks: list[str], first: bool, last: bool) -> list[Markup]:
    """Unchanged blocks: CONTEXT of them next to a change shown, the rest folded away (still one click to read)."""
    keep_before = 0 if first else CONTEXT
    keep_after = 0 if last else CONTEXT
    if len(blocks) <= keep_before + keep_after + 1:
        return [_render(block) for block in blocks]
    head, folded, tail = (blocks[:keep_before], blocks[keep_before:len(blocks) - keep_after],
                          blocks[len(blocks) - keep_after:])
    details = Markup('<details class="diff-unchanged"><summary>{} unchanged</summary>{}</details>').format(
        plural(len(folded), "paragraph"), Markup("\n").join(_render(block) for block in folded))
    return [*(_render(block) for block in head), details, *(_render(block) for block in tail)]


def marked_diff(before: str, after: str) -> Markup:
    """The lesson as it reads now: added and removed blocks marked, a rewritten block word by word, and the
    unchanged blocks away from a change folded."""
    old, new = _blocks(before), _blocks(after)
    opcodes = difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes()
    out = []
    for index, (op, i1, i2, j1, j2) in enumerate(opcodes):
        if op == "equal":
            out.extend(_unchanged(new[j1:j2], first=index == 0, last=index == len(opcodes) - 1))
        elif op == "replace" and i2 - i1 == j2 - j1:
            out.extend(_words(a, b) for a, b in zip(old[i1:i2], new[j1:j2], strict=True))
        else:
            out.extend(Markup('<div class="diff-block">{}</div>').format(_removed(_render(block)))
                       for block in old[i1:i2])
            out.extend(Markup('<div class="diff-block">{}</div>').format(_added(_render(block)))
                       for block in new[j1:j2])
    return Markup("\n").join(out)
