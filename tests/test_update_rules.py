"""The rules of policy updates as plain functions: which version must be signed, where an officer stands, and
what changed between two versions of a lesson."""
from datetime import date
from types import SimpleNamespace

from training.updates.diff import lesson_changes, marked_diff
from training.updates.rules import acknowledgement_status, required_version, version_label

DAY = date(2026, 11, 27)


def lesson(slug, body, title=None):
    return SimpleNamespace(slug=slug, title=title or slug, body_md=body)


def test_the_required_version_is_the_latest_policy_change():
    assert required_version([(1, None)]) == 1
    assert required_version([(1, None), (2, "editorial"), (3, None)]) == 1
    assert required_version([(1, None), (2, "policy"), (3, "editorial")]) == 2
    assert required_version([(1, None), (2, "policy"), (3, "editorial"), (4, "policy")]) == 4


def test_acknowledgement_status_first_match_wins():
    def status(acknowledged, required=2, due=None, exempt=False):
        return acknowledgement_status(DAY, acknowledged=acknowledged, required=required, open_due_on=due,
                                      exempt=exempt)
    assert status(2) == status(3) == "acknowledged"
    assert status(2, exempt=True) == "exempt"
    assert status(1, due=date(2026, 11, 26)) == "overdue"
    assert status(1, due=DAY) == "due"
    assert status(None) == "due"
    assert version_label("document", 3, "Rev. 2") == "Rev. 2" and version_label("course", 3, "x") == "v3"


def test_lesson_changes_are_found_by_slug():
    before = [lesson("01-a", "Same."), lesson("02-b", "Old rule."), lesson("03-c", "Gone.")]
    after = [lesson("01-a", "Same."), lesson("02-b", "New rule."), lesson("04-d", "Fresh.")]
    changes = lesson_changes(before, after)
    assert [(c.slug, c.kind) for c in changes] == [("02-b", "changed"), ("04-d", "added"), ("03-c", "removed")]
    assert changes[2].lesson is None and changes[1].before == ""
    assert lesson_changes(after, after) == []


def test_a_rewritten_paragraph_is_marked_word_by_word():
    html = str(marked_diff("# Title\n\nWarn once before force.\n", "# Title\n\nWarn twice before force.\n"))
    assert '<del class="diff-removed"><span class="usa-sr-only">Removed: </span>once</del>' in html
    assert '<ins class="diff-added"><span class="usa-sr-only">Added: </span>twice</ins>' in html
    assert "<h3>Title</h3>" in html     # the lesson's own heading sits below the update page's


def test_added_and_removed_paragraphs_are_marked_and_unchanged_ones_far_away_folded():
    before = "\n\n".join(f"Paragraph {n}." for n in range(1, 9))
    after = before.replace("Paragraph 8.", "A new rule.\n\nAnother new rule.")
    html = str(marked_diff(before, after))
    assert html.count('<ins class="diff-added">') == 2 and html.count('<del class="diff-removed">') == 1
    assert "<summary>6 paragraphs unchanged</summary>" in html
    # The paragraph next to the change is shown, the others folded but still there to read.
    assert html.index("Paragraph 7.") > html.index("</details>")
    assert "Paragraph 1." in html.split("<details", 1)[1]


def test_text_in_a_diff_is_escaped():
    html = str(marked_diff("Safe.", "Safe <script>alert(1)</script> now."))
    assert "<script>" not in html and "&lt;script&gt;" in html
