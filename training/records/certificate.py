"""The PDF certificate of one completion, with its verification code and a QR code of its address."""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import segno

from training.records import codes

FONTS = Path(__file__).resolve().parent / "fonts"
INK = (27, 27, 27)
ACCENT = (0, 94, 162)


@dataclass(frozen=True)
class CertificateFacts:
    officer_name: str
    employee_id: str | None
    agency_name: str | None
    course_title: str
    course_code: str
    course_version: int | None
    completed_on: date
    expires_on: date
    code: str
    verify_url: str


def verify_url(base_url: str, code: str) -> str:
    return f"{base_url.rstrip('/')}/verify/{codes.display(code)}"


def qr_png(data: str) -> io.BytesIO:
    buffer = io.BytesIO()
    segno.make(data, error="m", micro=False).save(buffer, kind="png", scale=10, border=4)
    buffer.seek(0)
    return buffer


def certificate_pdf(facts: CertificateFacts, created: datetime | None = None) -> bytes:
    """One landscape Letter page. With `created`, the PDF says it was made then (and its file id follows from it
    and its contents), so the same certificate gives the same bytes."""
    from fpdf import FPDF  # imported when a PDF is made: fpdf, fontTools and PIL hold tens of MB per process

    pdf = FPDF(orientation="L", unit="mm", format="Letter")
    if created is not None:
        pdf.set_creation_date(created)
    pdf.set_title(f"Certificate: {facts.course_title}, {facts.officer_name}")
    pdf.set_author("Rollcall")
    pdf.set_auto_page_break(False)
    # DejaVu covers the accents and scripts in officers' names; the core PDF fonts do not.
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.add_page()
    width = pdf.w - 40

    pdf.set_draw_color(*ACCENT)
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, pdf.w - 20, pdf.h - 20)
    pdf.set_text_color(*INK)

    def line(text: str, size: float, style: str = "", gap: float = 4, color=INK) -> None:
        pdf.set_font("DejaVu", style, size)
        pdf.set_text_color(*color)
        pdf.set_x(20)
        pdf.multi_cell(width, size * 0.5, text, align="C")
        pdf.ln(gap)

    pdf.set_y(28)
    line("Certificate of Completion", 30, "B", 8, ACCENT)
    line("This certifies that", 13)
    line(facts.officer_name, 26, "B", 2)
    who = " · ".join(p for p in (f"Employee id {facts.employee_id}" if facts.employee_id else None,
                                 facts.agency_name) if p)
    if who:
        line(who, 11)
    line("completed the training module", 13, gap=2)
    line(facts.course_title, 20, "B", 2)
    version = f"version {facts.course_version}" if facts.course_version else "imported record"
    line(f"{facts.course_code}, {version}", 12, gap=8)
    line(f"Completed on {facts.completed_on.isoformat()}   ·   Certified until {facts.expires_on.isoformat()}",
         14, "B", 4)

    qr_size = 42
    top = pdf.h - 20 - qr_size
    pdf.image(qr_png(facts.verify_url), x=pdf.w - 20 - qr_size, y=top, w=qr_size, h=qr_size)
    pdf.set_xy(20, top + 8)
    pdf.set_font("DejaVu", "", 11)
    pdf.cell(0, 6, "Verification code", new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(20)
    pdf.set_font("DejaVu", "B", 16)
    pdf.cell(0, 9, codes.display(facts.code), new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(20)
    pdf.set_font("DejaVu", "", 10)
    pdf.cell(0, 6, f"Check this certificate's current state at {facts.verify_url}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
