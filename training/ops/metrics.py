"""/metrics: the counts of every worker (training/telemetry.py), and what the database says at the moment of
the scrape (outbox by state, the oldest pending message's age, the last daily job), in Prometheus' format."""
from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Mapping
from datetime import UTC, datetime

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from training import telemetry
from training.db import utcnow
from training.reminders.models import JobRun, OutboxMessage

STATES = ("pending", "sent", "failed", "cancelled")
CONTENT_TYPE = CONTENT_TYPE_LATEST


def networks(allow: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """METRICS_ALLOW: addresses or CIDR blocks, comma-separated. A wrong one stops the app from starting."""
    try:
        return [ipaddress.ip_network(part.strip(), strict=False) for part in allow.split(",") if part.strip()]
    except ValueError as exc:
        raise RuntimeError(f"METRICS_ALLOW: {exc}") from None


def may_scrape(address: str | None, authorization: str | None, config: Mapping) -> bool:
    """From an allowed address, or with the bearer token METRICS_TOKEN (compared in constant time)."""
    token = config.get("METRICS_TOKEN")
    offered = authorization.removeprefix("Bearer ").strip() if authorization else ""
    if token and authorization and authorization.startswith("Bearer ") and \
            hmac.compare_digest(offered.encode(), token.encode()):
        return True
    try:
        client = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if client.version == 6 and client.ipv4_mapped:
        client = client.ipv4_mapped
    return any(client in network for network in networks(config.get("METRICS_ALLOW") or ""))


class DatabaseCollector:
    """Read at each scrape, so every worker answers the same and nothing is kept between scrapes."""

    def __init__(self, maker: sessionmaker[Session]) -> None:
        self.maker = maker

    def collect(self):
        outbox = GaugeMetricFamily("rollcall_outbox_messages", "Messages in the outbox, by state.", labels=["state"])
        oldest = GaugeMetricFamily("rollcall_outbox_oldest_pending_age_seconds",
                                   "Age of the oldest message waiting to be sent (0: none waits).")
        start = GaugeMetricFamily("rollcall_daily_job_last_start_timestamp_seconds",
                                  "When the last daily job started (Unix time; absent: never run).")
        duration = GaugeMetricFamily("rollcall_daily_job_last_duration_seconds",
                                     "How long the last finished daily job took.")
        result = GaugeMetricFamily("rollcall_daily_job_last_result",
                                   "The last daily job's outcome: 1 for the one it had.", labels=["outcome"])
        with self.maker() as session:
            counts = dict(session.execute(select(OutboxMessage.status, func.count())
                                             .group_by(OutboxMessage.status)).all())
            first = session.scalar(select(func.min(OutboxMessage.created_at))
                                   .where(OutboxMessage.status == "pending"))
            last = session.execute(select(JobRun.started_at, JobRun.finished_at, JobRun.outcome)
                                      .where(JobRun.job == "daily")
                                      .order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(1)).first()
        for state in sorted(set(STATES) | set(counts)):
            outbox.add_metric([state], counts.get(state, 0))
        oldest.add_metric([], max(0.0, (utcnow() - first).total_seconds()) if first is not None else 0.0)
        yield outbox
        yield oldest
        if last is not None:
            start.add_metric([], _unix(last.started_at))
            yield start
            if last.finished_at is not None:
                duration.add_metric([], (last.finished_at - last.started_at).total_seconds())
                yield duration
            for outcome in ("running", "succeeded", "failed"):
                result.add_metric([outcome], 1.0 if last.outcome == outcome else 0.0)
            yield result


def _unix(naive_utc: datetime) -> float:
    return naive_utc.replace(tzinfo=UTC).timestamp()


def exposition(maker: sessionmaker[Session]) -> bytes:
    """Every worker's counts (added together from PROMETHEUS_MULTIPROC_DIR when set, else this process's)
    and the database's figures."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(telemetry.REGISTRY)
    registry.register(DatabaseCollector(maker))
    return generate_latest(registry)
