"""The one place `sw-ml`'s output goes through: control characters escaped, one JSON policy, tables.

`sw-ml` installs `inert_output()` around parsing and running every command, so every `print` and
`sys.stdout.write` of every command (and argparse's own messages, and the one-line errors) passes
through `skill.controls.escape_controls`: text from a clone (run names, notes, package names,
recorded commands) cannot drive the terminal. Commands do not escape anything themselves.

`--json` stays valid JSON with the same data: every command prints it with `print_json` (indented,
UTF-8 kept, NaN and Infinity spelled as the store spells them, never as bare tokens JSON lacks);
`json.dumps` already escapes C0 controls, and the DEL and C1 characters it leaves raw inside strings
become `\\u009b`-style escapes, which JSON reads back as the same characters. Bytes written to
`.buffer` pass untouched. A file written with `-o FILE` holds the exact values: only what is printed
is escaped.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from skill.controls import escape_controls


class InertStream:
    """A text stream that escapes control characters in everything written to it."""

    def __init__(self, raw: TextIO):
        self._raw = raw

    def write(self, text: str) -> int:
        self._raw.write(escape_controls(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def isatty(self) -> bool:
        # Libraries that colour a terminal ask this: they would send escape sequences this stream shows
        # as text, so it says it is no terminal.
        return False

    def __getattr__(self, name: str) -> Any:  # flush, fileno, buffer, encoding...
        return getattr(self._raw, name)


@contextmanager
def inert_output() -> Iterator[None]:
    """sys.stdout and sys.stderr escape control characters until the block ends."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = InertStream(saved[0]), InertStream(saved[1])  # type: ignore[assignment]
    try:
        yield
    finally:
        # a command may have replaced a stream (a broken pipe sends stdout to devnull): keep that one
        if isinstance(sys.stdout, InertStream):
            sys.stdout = saved[0]
        if isinstance(sys.stderr, InertStream):
            sys.stderr = saved[1]


def _plain(data: Any) -> Any:
    dump = getattr(data, "model_dump", None)
    if callable(dump):  # a result model: its JSON form, as every face sends it
        return dump(mode="json")
    if isinstance(data, dict):
        return {key: _plain(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [_plain(value) for value in data]
    return data


def print_json(data: Any) -> None:
    """`--json`: a result model, or lists and dicts of them, as indented JSON on stdout."""
    from skill.project import Project

    text = json.dumps(Project.jsonable(_plain(data)), indent=2, ensure_ascii=False, allow_nan=False)
    sys.stdout.write(text + "\n")


def table(headers: list[str], rows: list[list[str]]) -> str:
    """Columns padded to their widest cell, two spaces apart; nothing for no rows."""
    if not rows:
        return ""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines) + "\n"


__all__ = ["InertStream", "inert_output", "print_json", "table"]
