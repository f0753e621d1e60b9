"""The backup file: a tar archive holding manifest.json first, then the dump. Written under a temporary name
beside its destination and renamed over it when complete, so PATH is either the previous file or the new one,
never half of one. The dump's SHA-256 in the manifest is checked as it is unpacked."""
from __future__ import annotations

import hashlib
import io
import os
import tarfile
import tempfile
import time
import zlib
from pathlib import Path

from training.backup.manifest import MANIFEST_NAME, BackupError, Manifest

CHUNK = 1024 * 1024
# A manifest is a few kilobytes; anything much larger is not one.
MANIFEST_LIMIT = 1024 * 1024
DAMAGE = (tarfile.TarError, EOFError, OSError, zlib.error)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _member(name: str, size: int) -> tarfile.TarInfo:
    """A plain file entry owned by nobody in particular: the archive says nothing of the machine it was made on."""
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(time.time()), 0o600
    return info


def write_archive(out: Path, manifest: Manifest, dump: Path, compress: bool) -> int:
    """Write the manifest and `dump` to `out` atomically (readable by its owner only: it holds personal data);
    its size in bytes. `compress`: gzip the archive (a SQLite file; pg_dump's custom format is compressed
    already)."""
    if not out.parent.is_dir():
        raise BackupError(f"{out.parent} is not a folder; nothing was written")
    fd, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".part")
    partial = Path(name)
    try:
        with os.fdopen(fd, "wb") as raw:
            options = {"compresslevel": 6} if compress else {}
            with tarfile.open(fileobj=raw, mode="w:gz" if compress else "w", **options) as tar:
                body = manifest.to_json()
                tar.addfile(_member(MANIFEST_NAME, len(body)), io.BytesIO(body))
                with dump.open("rb") as f:
                    tar.addfile(_member(manifest.dump_name, dump.stat().st_size), f)
            raw.flush()
            os.fsync(raw.fileno())
        partial.replace(out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    directory = os.open(out.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return out.stat().st_size


def read_manifest(path: Path) -> Manifest:
    """The manifest at the head of the backup at `path`, without reading the dump behind it."""
    try:
        with tarfile.open(path, "r:*") as tar:
            first = tar.next()
            if first is None or first.name != MANIFEST_NAME or not first.isfile():
                raise BackupError(f"{path} is not a Rollcall backup: it does not begin with {MANIFEST_NAME}")
            if first.size > MANIFEST_LIMIT:
                raise BackupError(f"{path} is not a Rollcall backup: its {MANIFEST_NAME} is {first.size} bytes")
            data = tar.extractfile(first).read()
    except tarfile.ReadError as exc:
        raise BackupError(f"{path} is not a Rollcall backup, or is damaged: {exc}") from None
    except DAMAGE as exc:
        raise BackupError(f"{path} is damaged or cut short ({exc})") from None
    return Manifest.from_json(data, str(path))


def extract_dump(path: Path, manifest: Manifest, into: Path) -> Path:
    """Copy the dump out of the backup into the folder `into`, checking its size and SHA-256 against the
    manifest; the copy's path. BackupError when the file was cut short or altered."""
    target = into / manifest.dump_name
    digest, size = hashlib.sha256(), 0
    try:
        with tarfile.open(path, "r:*") as tar:
            tar.next()
            member = tar.next()
            if member is None or member.name != manifest.dump_name or not member.isfile():
                raise BackupError(f"{path} lacks the dump its manifest names ({manifest.dump_name}): the file was "
                                  "cut short or altered")
            with tar.extractfile(member) as source, target.open("wb") as out:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            # To the end of the file: a gzip stream's checksum and length are checked there, so a file cut short
            # anywhere is refused.
            while tar.fileobj.read(CHUNK):
                pass
    except DAMAGE as exc:
        raise BackupError(f"{path} is damaged or cut short ({exc})") from None
    if size != manifest.dump_bytes or digest.hexdigest() != manifest.dump_sha256:
        raise BackupError(f"{path} was altered or cut short: its dump is {size} bytes with SHA-256 "
                          f"{digest.hexdigest()}, the manifest says {manifest.dump_bytes} bytes with SHA-256 "
                          f"{manifest.dump_sha256}")
    return target
