"""The audit trail's hash chain and `flask --app app audit verify`."""
from sqlalchemy import delete, select, update

from tests.support.factories import make_user
from training.audit.chain import GENESIS, details_digest, event_hash, walk
from training.audit.models import AuditEvent
from training.audit.service import record


def some_events(session, n: int = 5) -> list[AuditEvent]:
    events = [record(session, "test.event", target=f"thing:{k}", number=k, note="café") for k in range(n)]
    session.commit()
    return events


def test_each_event_carries_the_hash_of_the_one_before(session):
    events = some_events(session, 3)
    first_ever = session.scalar(select(AuditEvent).order_by(AuditEvent.id).limit(1))
    assert first_ever.prev_hash == GENESIS
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    e = events[-1]
    assert e.details_sha256 == details_digest({"number": 2, "note": "café"})
    assert e.hash == event_hash(e.prev_hash, e.id, e.at, e.actor_id, e.action, e.target, e.details_sha256)


def test_intact_chain_verifies(runner, session, officer):
    some_events(session)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    total = len(session.scalars(select(AuditEvent.id)).all())
    last = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    assert f"OK: {total:,} audit events, chain intact; last hash {last}." in result.output


def test_an_edited_row_is_found_at_its_id(runner, session):
    events = some_events(session)
    session.execute(update(AuditEvent).where(AuditEvent.id == events[2].id)
                    .values(details={"number": 2, "note": "changed"}).execution_options(synchronize_session=False))
    session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"audit chain broken at event {events[2].id}" in result.output
    assert "the event was changed" in result.output


def test_redacted_details_keep_the_chain_and_are_counted(runner, session):
    """Details replaced by the retention purge's redacted form: the stored digest links the chain; a redacted
    event's other fields are still covered by its hash."""
    events = some_events(session)
    session.execute(update(AuditEvent).where(AuditEvent.id == events[1].id)
                    .values(details={"number": 1, "note": "(removed)", "redacted": True})
                    .execution_options(synchronize_session=False))
    session.commit()
    report = walk(session)
    assert report.broken is None and report.redacted == 1
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "(1 redacted by the retention purge), chain intact" in result.output

    session.execute(update(AuditEvent).where(AuditEvent.id == events[1].id).values(target="thing:99")
                    .execution_options(synchronize_session=False))
    session.commit()
    assert walk(session).broken.event_id == events[1].id


def test_details_that_do_not_match_their_digest_are_found(session):
    events = some_events(session)
    session.execute(update(AuditEvent).where(AuditEvent.id == events[3].id)
                    .values(details={"number": 3, "note": "café", "extra": 1})
                    .execution_options(synchronize_session=False))
    session.commit()
    report = walk(session)
    assert report.broken.event_id == events[3].id and "do not match their digest" in report.broken.problem


def test_a_deleted_row_is_found_at_the_next_event(runner, session):
    events = some_events(session)
    session.execute(delete(AuditEvent).where(AuditEvent.id == events[1].id))
    session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"audit chain broken at event {events[2].id}" in result.output
    assert f"does not match event {events[0].id}" in result.output and "deleted or changed" in result.output


def test_a_rewritten_hash_still_breaks_the_next_link(session):
    events = some_events(session)
    forged = events[1]
    new_details = {"number": 1, "note": "forged"}
    digest = details_digest(new_details)
    new_hash = event_hash(forged.prev_hash, forged.id, forged.at, forged.actor_id, forged.action, forged.target,
                          digest)
    session.execute(update(AuditEvent).where(AuditEvent.id == forged.id)
                    .values(details=new_details, details_sha256=digest, hash=new_hash)
                    .execution_options(synchronize_session=False))
    session.commit()
    report = walk(session)
    assert report.broken.event_id == events[2].id


def test_events_written_by_the_app_chain_across_requests(client, session, officer):
    from tests.support.pages import login
    login(client, officer.email)
    client.post("/logout")
    make_user(session, "x@agency.test")
    record(session, "user.created", target="user:x")
    session.commit()
    report = walk(session)
    assert report.broken is None and report.checked >= 3
