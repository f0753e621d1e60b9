"""Writers in parallel, each committing for real, still build one unbroken chain."""
import threading

import config
from tests.support.databases import committed_database
from training import create_app, migrate
from training.audit.chain import walk
from training.audit.service import record
from training.db import unit_of_work

WRITERS, TRANSACTIONS, EVENTS = 4, 10, 3


def test_parallel_writers_keep_the_chain(tmp_path):
    with committed_database(tmp_path, "audit_concurrency") as url:
        app = create_app(config.TestConfig, DATABASE_URL=url)
        migrate.upgrade(app)
        start, failures = threading.Barrier(WRITERS), []

        def writer(n: int) -> None:
            try:
                start.wait()
                for t in range(TRANSACTIONS):
                    with unit_of_work(app) as session:
                        for e in range(EVENTS):
                            record(session, "test.parallel", target=f"writer:{n}", transaction=t, event=e)
            except Exception as exc:  # reported below, in the test's thread
                failures.append(exc)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        try:
            assert failures == []
            with unit_of_work(app) as session:
                report = walk(session)
            assert report.broken is None and report.checked == WRITERS * TRANSACTIONS * EVENTS
        finally:
            app.extensions["db_engine"].dispose()
