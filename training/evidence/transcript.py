"""The printable transcript of an evidence packet: one PDF of the officer's training record as of a day."""
from __future__ import annotations

from datetime import datetime

from fpdf import FPDF
from fpdf.fonts import FontFace

from training.evidence.records import Held
from training.records.certificate import ACCENT, FONTS, INK

HEADING = FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=ACCENT)


class TranscriptPDF(FPDF):
    def __init__(self, title: str, footer_text: str):
        super().__init__(orientation="L", unit="mm", format="Letter")
        self.footer_text = footer_text
        self.set_title(title)
        self.set_author("Rollcall")
        self.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_auto_page_break(True, margin=15)
        self.set_text_color(*INK)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("DejaVu", "", 8)
        self.cell(0, 5, f"{self.footer_text} · page {self.page_no()} of {{nb}}", align="C")

    def heading(self, text: str) -> None:
        self.ln(3)
        self.set_font("DejaVu", "B", 13)
        self.set_text_color(*ACCENT)
        self.cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(*INK)

    def para(self, text: str, size: float = 10) -> None:
        self.set_font("DejaVu", "", size)
        self.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")

    def rows(self, header: tuple[str, ...], rows: list[tuple], widths: tuple[int, ...], empty: str) -> None:
        if not rows:
            self.para(empty)
            return
        self.set_font("DejaVu", "", 8)
        with self.table(col_widths=widths, headings_style=HEADING, line_height=4.5,
                        text_align="LEFT", repeat_headings=1) as table:
            table.row(header)
            for row in rows:
                table.row(tuple("" if cell is None else str(cell) for cell in row))


def _when(stamp: str | None) -> str:
    """'2026-11-27T14:03:11.123456Z' as '2026-11-27 14:03 UTC'."""
    return f"{stamp[:10]} {stamp[11:16]} UTC" if stamp else ""


def transcript_pdf(held: Held, created: datetime) -> bytes:
    o = held.officer
    pdf = TranscriptPDF(f"Training transcript: {o['name']}, as of {o['as_of']}",
                        f"Rollcall transcript of {o['name']} as of {o['as_of']}")
    pdf.set_creation_date(created)
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 18)
    pdf.set_text_color(*ACCENT)
    pdf.cell(0, 10, "Training transcript", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*INK)
    pdf.set_font("DejaVu", "B", 14)
    pdf.cell(0, 8, o["name"], new_x="LMARGIN", new_y="NEXT")
    place = ", ".join(p for p in (o["agency"], o["unit"]) if p)
    pdf.para(f"Employee id {o['employee_id'] or 'none'}{', ' + place if place else ''}.")
    pdf.para(f"Every record held at the end of {o['as_of']} ({o['time_zone']}); states are those of that day.")

    pdf.heading("Completions and certificates")
    pdf.rows(("Module", "Version", "Record", "Completed", "Certified until", "State", "Verification code"),
             [(_module(c), "not recorded" if c["version"] is None else c["version"],
               c["source"] + (f", {c['score']}%" if c["score"] is not None else ""), c["completed_on"],
               c["expires_on"], _state(c), c["verification_code"]) for c in held.completions],
             (60, 18, 28, 24, 24, 56, 38), "No completions.")

    pdf.heading("Quiz attempts")
    pdf.rows(("Module", "Version", "Kind", "Started", "Submitted", "Score", "Right", "Result"),
             [(f"{a['course_title']} ({a['course_code']})", a["version"], a["kind"], _when(a["started_at"]),
               _when(a["submitted_at"]) or "not submitted", f"{a['score']}%" if a["score"] is not None else "",
               f"{a['right']} of {len(a['questions'])}" if a["right"] is not None else "", a["state"])
              for a in held.attempts],
             (62, 16, 18, 34, 34, 16, 22, 30), "No quiz attempts.")
    pdf.para("Each attempt's questions, the choices in the order shown and the answers given are in attempts.txt.", 8)

    pdf.heading("Acknowledgements")
    pdf.rows(("Module or document", "Version", "Kind", "Signed as", "When",
              "SHA-256 of the text shown (documents) or of the version"),
             [(_module(a), f"{a['version']} ({a['policy_version']})", a["kind"], a["name_signed"],
               _when(a["acknowledged_at"]), a["text_sha256"] or a["version_content_sha256"])
              for a in held.acknowledgements],
             (56, 30, 18, 36, 32, 88), "No acknowledgements.")

    pdf.heading("Assignments and their history")
    pdf.rows(("Module", "State as of the day", "When", "What", "Due", "Reason", "By"),
             [(f"{a['course_title']} ({a['course_code']})" if i == 0 else "",
               f"{a['state']}, due {a['due_on']}" if i == 0 else "", _when(h["at"]), h["what"],
               _due(h), h["reason"], h["by"])
              for a in held.assignments for i, h in enumerate(a["history"])],
             (48, 32, 32, 28, 40, 40, 40), "No assignments.")

    pdf.heading("Exemptions")
    pdf.rows(("Module", "From", "Until", "Reason", "Granted by", "Granted"),
             [(f"{e['course_title']} ({e['course_code']})", e["starts_on"], e["ends_on"], e["reason"], e["granted_by"],
               _when(e["granted_at"])) for e in held.exemptions],
             (56, 24, 24, 70, 48, 38), "No exemptions.")

    pdf.heading("Requests for more time")
    pdf.rows(("Module", "Asked", "Until", "Reason", "Decision", "By", "Note"),
             [(r["course_code"], _when(r["asked_at"]), r["asked_due_on"] or "", r["reason"],
               r["status"] + (f", due {r['decided_due_on']}" if r["decided_due_on"] else ""), r["decided_by"] or "",
               r["note"] or "") for r in held.extension_requests],
             (36, 32, 22, 60, 32, 40, 38), "No requests for more time.")

    pdf.heading("Audit events")
    pdf.para(f"{len(held.audit_events)} events about the officer, with their hashes, are in audit-events.json; "
             "README.txt says how to check them.")
    return bytes(pdf.output())


def _module(row: dict) -> str:
    return f"{row['course_title']} ({row['course_code']})"


def _state(completion: dict) -> str:
    if completion["revoked_on"]:
        return f"{completion['state']} on {completion['revoked_on']}: {completion['revoked_reason']}"
    return completion["state"]


def _due(entry: dict) -> str:
    if entry["what"] == "Assigned":
        return f"due {entry['due_on']}"
    if "due_on_before" not in entry:
        return ""
    if entry["due_on"] is None:
        return f"due {entry['due_on_before']} withdrawn"
    return f"{entry['due_on_before']} → {entry['due_on']}"
