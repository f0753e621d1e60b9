"""`flask --app app reminders run`: the sweep and a delivery, now. `flask --app app invitations send`."""
from __future__ import annotations

from datetime import date

import click
from flask import current_app
from flask.cli import AppGroup

from training.commands import fail, parse_date

reminders_cli = AppGroup("reminders", help="Reminders and the outbox.")


@reminders_cli.command("run")
@click.option("--as-of", callback=parse_date,
              help="The day to sweep for, for every agency (default: each agency's own day, in its time zone).")
@click.option("--wait", type=click.IntRange(0, 3600), default=120, show_default=True,
              help="Seconds to wait while another process runs the jobs.")
def reminders_run(as_of: date | None, wait: int) -> None:
    """Queue what has fallen due and try every pending message now, whatever its back-off.

    Each agency is swept for its own calendar day, or all of them for --as-of.
    """
    from training import clock
    from training.db import unit_of_work
    from training.jobs import exclusive, run_daily, run_delivery

    app = current_app._get_current_object()
    now = clock.current_instant()
    with exclusive(app, wait=wait) as held:
        if not held:
            fail(f"another process has been running the scheduled jobs for {wait} s; nothing was done")
        if as_of is not None:
            days = [clock.every_agency_on(as_of)]
        else:
            with unit_of_work(app) as session:
                days = clock.local_days(session, now)
        queued = run_daily(app, days, via="command")
        report = run_delivery(app, via="command", on=as_of, force=True)
    click.echo(f"Sweep for {clock.describe(days)}:")
    for kind, count in sorted(queued.items()):
        click.echo(f"  {kind}: {count}")
    if not queued:
        click.echo("  nothing new fell due")
    _report(report, given_up=True, waiting="the rest stays pending", what="messages")


invitations_cli = AppGroup("invitations", help="Invitations to choose a password, for accounts that cannot sign in.")


@invitations_cli.command("send")
@click.option("--agency", help="Agency code: everyone of the agency who cannot sign in yet.")
@click.option("--unit", help="Unit code: everyone of the unit and its sub-units who cannot sign in yet.")
@click.option("--officer", help="Employee id of one person.")
@click.option("--resend", is_flag=True, help="Send a fresh invitation to those whose invitation still works; "
                                             "the link they have stops working.")
def invitations_send(agency: str | None, unit: str | None, officer: str | None, resend: bool) -> None:
    """Invite active accounts with no password that have never signed in to choose a password, by e-mail.

    Each gets a single-use link, good for INVITATION_DAYS days. Those whose invitation still works are skipped
    unless --resend.
    """
    from sqlalchemy import select

    from training.auth.tokens import never_signed_in
    from training.db import unit_of_work, utcnow
    from training.people.models import Agency, Unit, User
    from training.people.service import subtree_ids
    from training.reminders.delivery import deliver
    from training.reminders.invitations import invite

    if sum(x is not None for x in (agency, unit, officer)) != 1:
        fail("give exactly one of --agency CODE, --unit CODE or --officer ID")
    app = current_app._get_current_object()
    now = utcnow()
    with unit_of_work(app) as session:
        if agency is not None:
            found = session.scalar(select(Agency).where(Agency.code == agency))
            if found is None:
                fail(f"no agency has code {agency}")
            where, what = [User.agency_id == found.id], f"agency {agency}"
        elif unit is not None:
            found = session.scalar(select(Unit).where(Unit.code == unit))
            if found is None:
                fail(f"no unit has code {unit}")
            where, what = [User.unit_id.in_(subtree_ids(session, found))], f"unit {unit} and its sub-units"
        else:
            person = session.scalar(select(User).where(User.employee_id == officer))
            if person is None:
                fail(f"nobody has employee id {officer}")
            if not person.active:
                fail(f"{officer} is deactivated; nothing was sent")
            if person.password_hash is not None or session.scalar(select(never_signed_in()).where(
                    User.id == person.id)) is False:
                fail(f"{officer} can already sign in; a forgotten password is reset from the sign-in page "
                     "(Forgot your password?)")
            where, what = [User.id == person.id], f"{officer}"
        done = invite(session, where, now, app.config["INVITATION_DAYS"], None, resend=resend, via="cli")
    report = deliver(app, force=True, ids=done.queued) if done.queued else None
    click.echo(f"Invitations for {what}: {len(done.sent_to)} queued"
               + (f", {done.already} skipped (their invitation still works; --resend replaces it)"
                  if done.already else "") + ".")
    if report is not None:
        _report(report, given_up=False, waiting="the invitations stay queued", what="invitations")



def _report(report, *, given_up: bool, waiting: str, what: str) -> None:
    """What a delivery did; a failure to deliver makes the command exit non-zero."""
    counts = report.counts
    failed = f" ({counts['failed']} given up after repeated failures)," if given_up else ","
    click.echo(f"Delivery: {counts['sent']} sent, {counts['errors']} not accepted{failed} "
               f"{counts['cancelled']} cancelled.")
    if report.unreachable:
        fail(f"the mail server could not be reached ({report.unreachable}); {waiting} for the next delivery")
    if counts["errors"]:
        fail(f"some {what} were not accepted; they are retried later (see the outbox page)")


COMMANDS = (reminders_cli, invitations_cli)
