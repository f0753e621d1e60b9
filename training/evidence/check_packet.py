"""Check an unpacked Rollcall evidence packet: run `python3 check_packet.py` in its folder (Python 3.8+, nothing
else needed). It checks every file against manifest.json and recomputes every audit event's hash; it prints what
it found and exits 1 when anything does not match. Each step is written out in README.txt, to be redone by hand.
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path


def text(value) -> str:
    """JSON with keys sorted at every level, no spaces, characters outside ASCII written as themselves."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def canonical(event: dict) -> str:
    """The text an audit event's hash covers: its id, time, actor, action, target and the digest of its details."""
    return text({key: event[key] for key in ("id", "at", "actor_id", "action", "target", "details_sha256")})


def event_hash(event: dict) -> str:
    return sha256(event["prev_hash"] + canonical(event))


def redacted(event: dict) -> bool:
    """Details replaced by the retention purge: they no longer match their digest, which the hash still covers."""
    return isinstance(event["details"], dict) and event["details"].get("redacted") is True


def check(folder: Path) -> list[str]:
    problems = []
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    listed = set()
    for entry in manifest["files"]:
        listed.add(entry["path"])
        path = folder / entry["path"]
        if not path.is_file():
            problems.append(f"{entry['path']}: missing")
            continue
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != entry["sha256"] or len(data) != entry["size"]:
            problems.append(f"{entry['path']}: its SHA-256 or size differs from manifest.json")
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if path.is_file() and name not in listed and name != "manifest.json":
            problems.append(f"{name}: not listed in manifest.json")
    events = json.loads((folder / "audit-events.json").read_text(encoding="utf-8"))["events"]
    previous, removed = None, 0
    for event in events:
        if redacted(event):
            removed += 1
        elif sha256(text(event["details"])) != event["details_sha256"]:
            problems.append(f"audit event {event['id']}: its details do not match their digest")
        if event_hash(event) != event["hash"]:
            problems.append(f"audit event {event['id']}: its fields do not match its hash")
        if previous is not None and event["id"] == previous["id"] + 1 and event["prev_hash"] != previous["hash"]:
            problems.append(f"audit event {event['id']}: its previous hash is not event {previous['id']}'s hash")
        previous = event
    print(f"{len(manifest['files'])} files and {len(events)} audit events checked"
          f"{f' ({removed} with personal data removed)' if removed else ''}: "
          f"{len(problems) or 'no'} problem{'' if len(problems) == 1 else 's'}.")
    return problems


if __name__ == "__main__":
    found = check(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent)
    for problem in found:
        print(problem)
    sys.exit(1 if found else 0)
