"""Reading YAML content files with the line of every mapping, and the field readers that report a bad value
with its file and line."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import yaml

LINE_KEY = "__line__"
# Characters no database column stores: NUL, and the lone surrogates a YAML escape like "\ud800" makes.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_MESSAGE = "contains a character that cannot be stored (a NUL or a lone surrogate like \\ud800)"
# Longest value each short field may hold (the database columns' sizes).
MAX_LENGTH = {"title": 200, "id": 64, "lesson": 120, "answer": 8}


@dataclass(frozen=True)
class ContentError:
    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


class Problems:
    """The problems (which stop the content loading) and warnings (which do not) found so far."""

    def __init__(self) -> None:
        self.items: list[ContentError] = []
        self.warnings: list[ContentError] = []

    def add(self, path: Path | str, line: int | None, message: str) -> None:
        self.items.append(ContentError(str(path), line, message))

    def warn(self, path: Path | str, line: int | None, message: str) -> None:
        self.warnings.append(ContentError(str(path), line, message))


class _LineLoader(yaml.SafeLoader):
    """A safe loader that remembers the line of every mapping."""

    def construct_mapping(self, node, deep=False):
        mapping = super().construct_mapping(node, deep=deep)
        mapping[LINE_KEY] = node.start_mark.line + 1
        return mapping

    def construct_checked_timestamp(self, node):
        """A date like 2024-02-30 is refused with its line, as any other YAML error."""
        try:
            return self.construct_yaml_timestamp(node)
        except ValueError as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value} is not a real date ({exc})", node.start_mark) from None


_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", _LineLoader.construct_checked_timestamp)


def read_yaml(path: Path, problems: Problems) -> dict | None:
    """The file's top-level mapping, every mapping in it carrying its line under LINE_KEY; None when unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        problems.add(path, None, "is not UTF-8 text")
        return None
    try:
        data = yaml.load(text, Loader=_LineLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problems.add(path, mark.line + 1 if mark else None, f"invalid YAML: {exc.problem}")
        return None
    except yaml.YAMLError as exc:
        problems.add(path, None, f"invalid YAML: {exc}")
        return None
    except RecursionError:
        problems.add(path, None, "invalid YAML: values are nested too deeply")
        return None
    if not isinstance(data, dict):
        problems.add(path, 1, "must be a mapping of keys to values")
        return None
    return data


def text_field(data: dict, key: str, path: Path, problems: Problems) -> str:
    value = data.get(key)
    line = data.get(LINE_KEY)
    if value is None or (isinstance(value, str) and not value.strip()):
        problems.add(path, line, f"'{key}' is required")
        return ""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        problems.add(path, line, f"'{key}' must be text")
        return ""
    text = str(value).strip()
    if UNSTORABLE.search(text):
        problems.add(path, line, f"'{key}' {UNSTORABLE_MESSAGE}")
        return ""
    limit = MAX_LENGTH.get(key)
    if limit is not None and len(text) > limit:
        problems.add(path, line, f"'{key}' is {len(text)} characters long; at most {limit} are allowed")
        return ""
    return text


def date_value(value: object) -> date | None:
    """A YAML value as a date without a time (a date the loader made, or ISO text); None when it is not one."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            return None
    if not isinstance(value, date) or isinstance(value, datetime):
        return None
    return value


def date_field(data: dict, key: str, path: Path, problems: Problems) -> date | None:
    value = data.get(key)
    line = data.get(LINE_KEY)
    if value is None or (isinstance(value, str) and not value.strip()):
        problems.add(path, line, f"'{key}' is required: the day the course was last checked against its "
                                 f"sources, like {key}: 2026-11-27")
        return None
    day = date_value(value)
    if day is None:
        problems.add(path, line, f"'{key}' must be a date like 2026-11-27, without a time")
    return day


def int_field(data: dict, key: str, default: int, lo: int, hi: int, path: Path, problems: Problems) -> int:
    value = data.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        problems.add(path, data.get(LINE_KEY), f"'{key}' must be a whole number from {lo} to {hi}")
        return default
    return value


def key_line(path: Path, key: str, default: int | None) -> int | None:
    """The line of a top-level `key:` in a YAML file (the loader keeps only the lines of mappings)."""
    pattern = re.compile(rf"^{re.escape(key)}\s*:")
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if pattern.match(text):
            return number
    return default
