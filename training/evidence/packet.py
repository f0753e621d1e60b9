"""The evidence packet's files and its ZIP, byte for byte the same for the same records and day."""
from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

from training.evidence.records import Held
from training.records.certificate import CertificateFacts, certificate_pdf

HERE = Path(__file__).resolve().parent
FORMAT = 1
# The earliest time a ZIP entry can carry.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def dumps(value) -> bytes:
    """Stable JSON: sorted keys, two-space indent, UTF-8, a final newline."""
    return (json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def created_at(as_of: date) -> datetime:
    """The one time the packet's files say they were made: the start of the as-of day (UTC)."""
    return datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC)


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]+", "-", text).strip("-") or "x"


def certificates(held: Held, agency_name: str | None, verify_url, created: datetime) -> dict[str, bytes]:
    """The certificate of each completion not revoked by the day (a signed document has none); each completion
    names its file."""
    files = {}
    for c in held.completions:
        if c["kind"] == "document" or c["state"] == "revoked":
            continue
        name = f"certificates/{slug(c['course_code'])}-{c['completed_on']}-{c['id']}.pdf"
        facts = CertificateFacts(held.officer["name"], held.officer["employee_id"], agency_name, c["course_title"],
                                 c["course_code"], c["version"], date.fromisoformat(c["completed_on"]),
                                 date.fromisoformat(c["expires_on"]), c["verification_code"].replace("-", ""),
                                 verify_url(c["verification_code"]))
        files[name] = certificate_pdf(facts, created=created)
        c["certificate"] = name
    return files


def attempts_text(held: Held) -> str:
    """The attempts for reading: each question, its choices in the order shown, the answer given."""
    lines = [f"Quiz attempts of {held.officer['name']} as of {held.officer['as_of']} (times UTC)", ""]
    if not held.attempts:
        lines.append("No quiz attempts.")
    for a in held.attempts:
        lines += ["=" * 78, f"Attempt {a['id']}: {a['course_title']} ({a['course_code']}), version {a['version']}"
                  f"{' (policy update quiz)' if a['kind'] == 'update' else ''}",
                  f"Started {a['started_at']}; "
                  + (f"submitted {a['submitted_at']}" if a["submitted_at"] else "not submitted by the day"),
                  (f"Score {a['score']}% ({a['right']} of {len(a['questions'])} right): {a['state']}"
                   if a["score"] is not None else "No score: in progress"), ""]
        for q in a["questions"]:
            lines.append(f"{q['number']}. {q['stem']}  [question {q['question_key']}, lesson {q['lesson']}]")
            for c in q["choices_shown"]:
                marks = (" <- answer given" if c["picked"] else "") + (" (right answer)" if c["correct"] else "")
                lines.append(f"   {c['letter']}. {c['text']}{marks}")
            if q["right"] is not None:
                lines.append(f"   Answer given: {q['answer_given']} ({'right' if q['right'] else 'wrong'}); "
                             f"right answer: {q['correct_answer']}")
            lines.append("")
    return "\n".join(lines) + "\n"


def files_of(held: Held, site: str, agency_name: str | None, verify_url) -> dict[str, bytes]:
    """Every file of the packet but the manifest, by its path in the ZIP."""
    from training.evidence import transcript  # imported when a packet is made: fpdf holds tens of MB

    as_of = date.fromisoformat(held.officer["as_of"])
    created = created_at(as_of)
    files = certificates(held, agency_name, verify_url, created)
    readme = (HERE / "packet_readme.txt").read_text(encoding="utf-8")
    files |= {
        "README.txt": readme.format(site=site, **{k: v or "none" for k, v in held.officer.items()}).encode("utf-8"),
        "check_packet.py": (HERE / "check_packet.py").read_bytes(),
        "officer.json": dumps(held.officer),
        "transcript.pdf": transcript.transcript_pdf(held, created),
        "completions.json": dumps({"completions": held.completions}),
        "attempts.json": dumps({"attempts": held.attempts}),
        "attempts.txt": attempts_text(held).encode("utf-8"),
        "acknowledgements.json": dumps({"acknowledgements": held.acknowledgements}),
        "assignments.json": dumps({"assignments": held.assignments, "exemptions": held.exemptions,
                                   "extension_requests": held.extension_requests}),
        "audit-events.json": dumps({"events": held.audit_events}),
    }
    return files


def manifest(held: Held, files: dict[str, bytes]) -> bytes:
    return dumps({"format": FORMAT, "officer": held.officer["name"], "employee_id": held.officer["employee_id"],
                  "as_of": held.officer["as_of"], "time_zone": held.officer["time_zone"],
                  "files": [{"path": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                            for name, data in sorted(files.items())]})


def zip_bytes(files: dict[str, bytes], as_of: date) -> bytes:
    """The ZIP: entries in name order, each with the as-of day as its time and the same attributes."""
    when = max((as_of.year, as_of.month, as_of.day, 0, 0, 0), ZIP_EPOCH)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            archive.writestr(info, files[name], compresslevel=9)
    return buffer.getvalue()
