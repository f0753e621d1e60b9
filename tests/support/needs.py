"""Something a test needs is not on this machine: the test is skipped with how to get it, except under CI."""
from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest


def missing(message: str) -> NoReturn:
    """Skip the test with `message`; under CI (the CI variable set), fail it: there nothing may be missing."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def require_file(path: Path | str, how: str) -> None:
    """`path` exists, or the test is skipped (failed under CI) saying `how` to get it."""
    if not Path(path).exists():
        missing(f"{path} is missing: {how}")
