"""Arbitrary dates and codes at the commands that take them: a result or a clean refusal, never a traceback."""
from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.support.fuzz import FUZZ, NASTY, build_world

COMMANDS = st.sampled_from(["reminders", "export", "assign"])
DAY = st.one_of(st.dates().map(str), NASTY)


def test_commands_given_any_date_or_code(app, runner, session, org, course, tmp_path, unused_port):
    app.config.update(SMTP_PORT=unused_port)
    build_world(session, org, course)
    out = str(tmp_path / "roster.csv")

    @settings(FUZZ, max_examples=25)
    @given(command=COMMANDS, day=DAY, code=st.one_of(st.just("AGY-U1"), NASTY))
    @example(command="reminders", day="9999-12-31", code="")
    @example(command="reminders", day="0001-01-01", code="")
    @example(command="assign", day="2999-12-31", code="AGY-U1")
    def run(command, day, code):
        args = {"reminders": ["reminders", "run", "--as-of", day, "--wait", "0"],
                "export": ["export", "roster", "--out", out, "--as-of", day],
                "assign": ["assign", "--course", "TEST-BASICS", "--unit", code, "--due", day]}[command]
        result = runner.invoke(args=args)
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        if result.exit_code:
            assert "Error" in result.output

    run()
    # An assignment due on the last day a command takes (confirmed as far ahead) is swept on its eve without trouble.
    assert runner.invoke(args=["assign", "--course", "TEST-BASICS", "--unit", "AGY-U1", "--due", "2999-12-31",
                               "--allow-far"]).exit_code == 0
    swept = runner.invoke(args=["reminders", "run", "--as-of", "2999-12-30", "--wait", "0"])
    assert swept.exception is None or isinstance(swept.exception, SystemExit), swept.output


def test_a_date_outside_the_years_rollcall_works_with_is_refused(runner):
    result = runner.invoke(args=["reminders", "run", "--as-of", "9999-12-31", "--wait", "0"])
    assert result.exit_code == 2 and "9999-12-31 is outside the years 1900 to 2999" in result.output
