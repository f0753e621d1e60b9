"""Building an officer's evidence packet as of a day, and recording that it was built."""
from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from training.access import forbid_own
from training.audit.service import record
from training.clock import today_for
from training.evidence import packet
from training.evidence.records import PACKET_ACTION, gather
from training.people.models import User
from training.records.certificate import verify_url


class PacketRefused(ValueError):
    """A packet that cannot be built; nothing was written."""


@dataclass(frozen=True)
class Packet:
    officer: User
    as_of: date
    data: bytes
    files: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def file_name(self) -> str:
        return f"evidence-{packet.slug(self.officer.employee_id or str(self.officer.id))}-{self.as_of.isoformat()}.zip"


def officer_by_employee_id(session: Session, employee_id: str) -> User:
    officer = session.scalar(select(User).where(User.employee_id == employee_id.strip()))
    if officer is None:
        raise PacketRefused(f"no officer has the employee id '{employee_id.strip()}'")
    return officer


def build_packet(session: Session, officer: User, as_of: date | None, base_url: str,
                 viewer: User | None = None) -> Packet:
    """The packet of everything held about the officer at the end of `as_of` (default: the officer's today),
    the people who acted on their records named as `viewer` may see them (None: the operator, who sees all).

    A day after the officer's today is refused: its records are not all written yet.
    """
    today = today_for(officer)
    as_of = as_of or today
    if as_of > today:
        raise PacketRefused(f"{as_of.isoformat()} is in the future: it is {today.isoformat()} in the officer's "
                            f"time zone, and a packet can only be made as of today or an earlier day")
    held = gather(session, officer, as_of, viewer)
    files = packet.files_of(held, base_url, officer.agency.name if officer.agency else None,
                            lambda code: verify_url(base_url, code.replace("-", "")))
    files["manifest.json"] = packet.manifest(held, files)
    return Packet(officer, as_of, packet.zip_bytes(files, as_of), len(files))


def record_packet(session: Session, built: Packet, *, actor_id: int | None, via: str, **details) -> None:
    """The packet's creation on the officer's audit trail: who, as of which day, the ZIP's SHA-256. Nobody makes
    the packet of their own records."""
    forbid_own(actor_id, built.officer.id, "make an evidence packet")
    record(session, PACKET_ACTION, actor_id=actor_id, target=f"user:{built.officer.id}", about=built.officer,
           as_of=built.as_of.isoformat(), sha256=built.sha256, size=len(built.data), files=built.files, via=via,
           **details)


def write_atomically(data: bytes, out: Path) -> None:
    """Write the file in full beside `out`, then rename it over `out`: a reader never sees half a packet."""
    out = out.resolve()
    if out.is_dir():
        raise PacketRefused(f"{out} is a folder; give the path of the ZIP to write")
    if not out.parent.is_dir():
        raise PacketRefused(f"{out.parent} does not exist")
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    except OSError as exc:
        raise PacketRefused(f"cannot write in {out.parent}: {exc.strerror}") from None
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o640)
        os.replace(temporary, out)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise PacketRefused(f"cannot write {out}: {exc.strerror}") from None
