"""What changed between a course's content and its published version, and whether its change log describes it.

`plan_publication` decides, for one course, whether `courses sync` publishes a new version and with which
change log entry, or refuses; it reads the published versions it is given and writes nothing.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from training.catalog.changelog import EXAMPLE, ChangeEntry
from training.catalog.content import VERSIONED_SETTINGS, CourseContent, QuestionContent
from training.catalog.models import CourseVersion, Question
from training.catalog.reading import Problems
from training.words import plural

# A policy change must leave at least this many questions tied to the lessons it adds or rewrites: they make
# the short quiz of the update that officers certified on an earlier version take.
MIN_UPDATE_QUESTIONS = 3


@dataclass
class ContentChanges:
    """What a course's content changes against its published version: lessons by slug, questions by id."""

    lessons_added: list[str] = field(default_factory=list)
    lessons_changed: list[str] = field(default_factory=list)     # text or title rewritten
    lessons_removed: list[str] = field(default_factory=list)
    questions_added: list[str] = field(default_factory=list)
    questions_changed: list[str] = field(default_factory=list)
    questions_removed: list[str] = field(default_factory=list)
    settings_changed: list[str] = field(default_factory=list)    # title, pass_mark, policy_version...

    def __bool__(self) -> bool:
        return any(names for _, names in self.listing())

    def listing(self) -> list[tuple[str, list[str]]]:
        """Each kind of change with what it names, as `courses sync` lists them."""
        return [("lessons changed", self.lessons_changed), ("lessons added", self.lessons_added),
                ("lessons removed", self.lessons_removed), ("questions changed", self.questions_changed),
                ("questions added", self.questions_added), ("questions removed", self.questions_removed),
                ("settings changed", self.settings_changed)]

    def brief(self) -> str:
        """In a few words, like 'lessons 02-x, questions DF-03, settings pass_mark'."""
        lessons = self.lessons_changed + self.lessons_added + self.lessons_removed
        questions = self.questions_changed + self.questions_added + self.questions_removed
        parts = [(label, names) for label, names in (("lessons", lessons), ("questions", questions),
                                                     ("settings", self.settings_changed)) if names]
        return ", ".join(f"{label} {', '.join(names)}" for label, names in parts)

    @property
    def rewritten_lessons(self) -> list[str]:
        return self.lessons_changed + self.lessons_added


def _question_text(question: QuestionContent) -> tuple:
    return (question.lesson, question.stem, tuple(question.choices), question.answer_index, question.explanation,
            question.source, tuple(question.wrong))


def _stored_question_text(question: Question) -> tuple:
    return (question.lesson_slug, question.stem, tuple(question.choices), question.answer_index,
            question.explanation, question.source, tuple(question.wrong_explanations or ()))


def compare(version: CourseVersion, content: CourseContent) -> ContentChanges:
    """What `content` changes against the published `version`."""
    changes = ContentChanges()
    before = {lesson.slug: lesson for lesson in version.lessons}
    for lesson in content.lessons:
        old = before.pop(lesson.slug, None)
        if old is None:
            changes.lessons_added.append(lesson.slug)
        elif (old.title, old.body_md) != (lesson.title, lesson.body_md):
            changes.lessons_changed.append(lesson.slug)
    changes.lessons_removed = sorted(before)
    asked = {question.key: _stored_question_text(question) for question in version.questions}
    for question in content.questions:
        old_text = asked.pop(question.key, None)
        if old_text is None:
            changes.questions_added.append(question.key)
        elif old_text != _question_text(question):
            changes.questions_changed.append(question.key)
    changes.questions_removed = sorted(asked)
    changes.settings_changed = [name for name in VERSIONED_SETTINGS
                                if getattr(version, name) != getattr(content, name)]
    return changes


@dataclass
class PublicationPlan:
    """What `courses sync` does with one course: publish version `number` (None: nothing changed)."""

    content: CourseContent
    number: int | None
    entry: ChangeEntry | None = None            # the change log entry the version publishes
    changes: ContentChanges | None = None       # against the version before; None for a first version

    @property
    def changes_logged(self) -> int:
        return len(self.content.changes)


def plan_publication(content: CourseContent, current: CourseVersion | None, published: Sequence[CourseVersion],
                     problems: Problems) -> PublicationPlan | None:
    """Whether `content` publishes a new version after `current` (None: the course has none yet), and with which
    entry of its change log; None, with the problems added, when the log does not describe the change.

    The log's first `current.changes_logged` entries are published; the rest are new. A changed course takes
    exactly one new entry, an unchanged one none. `published` are the course's versions, to check that the
    entries they published keep their date and kind.
    """
    if current is None:
        return PublicationPlan(content, 1)
    path, log, code = content.file, content.changes, content.code
    where = f"{code} v{current.number}"
    if len(log) < current.changes_logged:
        problems.add(path, content.changes_line,
                     f"'changes' has {plural(len(log), 'entry', 'entries')}, but {where} was published with "
                     f"{current.changes_logged}: published entries stay in the log; add new ones at the end")
        return None
    before = len(problems.items)
    for version in published:
        if version.change_kind is None or not 1 <= version.changes_logged <= len(log):
            continue
        entry = log[version.changes_logged - 1]
        if (entry.kind, entry.date) != (version.change_kind, version.change_date):
            problems.add(path, entry.line,
                         f"{code} v{version.number} was published with this entry as the {version.change_kind} "
                         f"change of {version.change_date.isoformat() if version.change_date else 'no date'}; a "
                         f"published entry keeps its date and kind: describe a new change in a new entry at the end")
    if len(problems.items) != before:
        return None
    new = log[current.changes_logged:]
    changes = compare(current, content)
    if not changes:
        if new:
            problems.add(path, new[0].line,
                         f"the {new[0].describe()} describes no change: the lessons, questions and settings are as "
                         f"published in {where}; remove the entry, or make the change it describes")
            return None
        return PublicationPlan(content, None)
    if not new:
        problems.add(path, content.changes_line,
                     f"{code} changed ({changes.brief()}) but changes: has no entry for it: add one with date, "
                     f"kind (editorial or policy) and summary, like\nchanges:\n{EXAMPLE}")
        return None
    if len(new) > 1:
        problems.add(path, new[1].line,
                     f"'changes' has {len(new)} new entries since {where} ("
                     f"{', '.join(entry.describe() for entry in new)}); one sync publishes one version with one "
                     f"entry: merge them into one")
        return None
    entry = new[0]
    if entry.kind == "policy" and not _enough_update_questions(content, changes, entry, problems):
        return None
    return PublicationPlan(content, current.number + 1, entry, changes)


def _enough_update_questions(content: CourseContent, changes: ContentChanges, entry: ChangeEntry,
                             problems: Problems) -> bool:
    """A policy change's update shows the lessons it adds or rewrites and quizzes officers on their questions."""
    lessons = changes.rewritten_lessons
    if not lessons:
        problems.add(content.file, entry.line,
                     f"the {entry.describe()} adds or rewrites no lesson ({changes.brief()}): a policy update "
                     f"shows officers the lessons that changed and quizzes them on those; rewrite the lessons "
                     f"the new rules belong in, or make the change editorial")
        return False
    tied = sum(1 for question in content.questions if question.lesson in set(lessons))
    if tied < MIN_UPDATE_QUESTIONS:
        problems.add(content.file, entry.line,
                     f"the {entry.describe()} rewrites {plural(len(lessons), 'lesson')} ({', '.join(lessons)}) "
                     f"with {plural(tied, 'question')} tied to {'it' if len(lessons) == 1 else 'them'}; the "
                     f"update's quiz needs at least {MIN_UPDATE_QUESTIONS}: add questions on "
                     f"{'that lesson' if len(lessons) == 1 else 'those lessons'}, or make the change editorial")
        return False
    return True
