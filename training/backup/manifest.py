"""What a backup says about itself (manifest.json): read from the same snapshot as the copy it describes, and
checked against the database a restore made."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select, table
from sqlalchemy.engine import Connection

from training.audit.chain import GENESIS
from training.audit.models import AuditEvent

FORMAT = "rollcall-backup"
# Raised when a later release writes what an earlier one could not read; a restore refuses a newer format.
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
DATABASES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


class BackupError(Exception):
    """A backup that cannot be written, or a file that is refused for a restore; the message says why."""


@dataclass(frozen=True)
class Facts:
    """What a database holds at one moment: its schema revision, the rows of each table and the audit chain's
    last hash."""

    revision: str | None
    counts: dict[str, int]
    last_hash: str = GENESIS

    @property
    def audit_events(self) -> int:
        return self.counts.get("audit_events", 0)


def read_facts(connection: Connection) -> Facts:
    """The facts as this connection's transaction sees them: every table of the schema, counted."""
    names = sorted(inspect(connection).get_table_names())
    counts = {name: connection.scalar(select(func.count()).select_from(table(name))) for name in names}
    revision = MigrationContext.configure(connection).get_current_revision() if "alembic_version" in names else None
    last = (connection.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
            if "audit_events" in names else None)
    return Facts(revision, counts, last or GENESIS)


def differences(expected: Facts, found: Facts) -> list[str]:
    """How `found` differs from `expected`, one line per difference; empty when they agree."""
    problems = []
    if found.revision != expected.revision:
        problems.append(f"schema revision {found.revision}, the manifest says {expected.revision}")
    for name in sorted(expected.counts.keys() | found.counts.keys()):
        want, have = expected.counts.get(name), found.counts.get(name)
        if want is None:
            problems.append(f"table {name} is not in the manifest")
        elif have is None:
            problems.append(f"table {name} is missing")
        elif want != have:
            problems.append(f"{name}: {have} rows, the manifest says {want}")
    if found.last_hash != expected.last_hash:
        problems.append(f"the audit chain ends with {found.last_hash}, the manifest says {expected.last_hash}")
    return problems


@dataclass(frozen=True)
class Manifest:
    """A backup's description: when and from which database it was taken, the facts of that moment, and the
    dump it carries (its name in the archive, size and SHA-256)."""

    database: str
    taken_at: str
    facts: Facts
    dump_name: str
    dump_sha256: str
    dump_bytes: int
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def database_name(self) -> str:
        return DATABASES.get(self.database, self.database)

    def to_json(self) -> bytes:
        return json.dumps({
            "format": FORMAT, "format_version": FORMAT_VERSION, "taken_at": self.taken_at,
            "database": self.database, "schema_revision": self.facts.revision, "counts": self.facts.counts,
            "audit": {"events": self.facts.audit_events, "last_hash": self.facts.last_hash},
            "dump": {"name": self.dump_name, "sha256": self.dump_sha256, "bytes": self.dump_bytes},
            "versions": self.versions,
        }, indent=2, sort_keys=True).encode("utf-8") + b"\n"

    @classmethod
    def from_json(cls, data: bytes, source: str) -> Manifest:
        """The manifest in `data`; BackupError naming `source` when it is not one this code can read."""
        try:
            raw = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BackupError(f"{source}: its {MANIFEST_NAME} is not JSON ({exc}); the file is damaged") from None
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise BackupError(f"{source} is not a Rollcall backup: its {MANIFEST_NAME} has no format "
                              f"'{FORMAT}'")
        version = raw.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise BackupError(f"{source} was written in backup format {version}, newer than this version of "
                              f"Rollcall reads ({FORMAT_VERSION}): restore it with the release that wrote it")
        try:
            dump, counts = raw["dump"], raw["counts"]
            manifest = cls(
                database=str(raw["database"]), taken_at=str(raw["taken_at"]),
                facts=Facts(raw["schema_revision"], {str(k): int(v) for k, v in counts.items()},
                            str(raw["audit"]["last_hash"])),
                dump_name=str(dump["name"]), dump_sha256=str(dump["sha256"]), dump_bytes=int(dump["bytes"]),
                versions={str(k): str(v) for k, v in raw.get("versions", {}).items()})
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BackupError(f"{source}: its {MANIFEST_NAME} lacks or garbles {exc}; the file is damaged") from None
        if "/" in manifest.dump_name or manifest.dump_name in ("", ".", ".."):
            raise BackupError(f"{source}: its {MANIFEST_NAME} names the dump '{manifest.dump_name}', "
                              "which is not a plain file name")
        return manifest
