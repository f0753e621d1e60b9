"""The site and the commands load the PDF libraries (fpdf with fontTools and PIL, pypdf) only when they make or
read a PDF: together they are about 38 MB in every process, a roster export's peak memory among them
(docs/performance.md)."""
from __future__ import annotations

import os
import subprocess
import sys

from tests.support.paths import ROOT

HEAVY = ("fpdf", "fontTools", "PIL", "pypdf")


def test_loading_the_site_leaves_the_pdf_libraries_unloaded(tmp_path):
    code = ("import sys, app; from training.reports import export, cli; "
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                            env={**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'lean.db'}"})
    assert result.stdout.strip() == "[]", result.stderr

