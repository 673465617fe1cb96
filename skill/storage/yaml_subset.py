"""A fast reader for the YAML the tracker itself writes; anything else goes to the full parser.

Why: listing a fresh clone reads every run's metadata.yaml, and PyYAML builds a
node graph in Python for each (about a millisecond for a 40-line file: most of
the cost of reading 5,000 runs). The files the tracker writes use a small part
of YAML: block mappings and sequences (PyYAML's layout: a sequence in a
mapping is not indented), plain or single-quoted one-line scalars, and the
plain forms of null, booleans, ints and floats. `parse` reads exactly that part
and returns None for anything else (a hand edit with a comment, an anchor, a
multi-line or double-quoted string, a tab, an unusual number), so the caller
falls back to PyYAML's safe loader, bounds and all. Where it answers, it
answers what `yaml.safe_load` would: the property test feeds both the output of
our dumper for random documents.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_.-]*):(?: (.*))?")
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_SPECIAL = {"null": None, "Null": None, "NULL": None, "~": None, "true": True, "True": True, "TRUE": True,
            "false": False, "False": False, "FALSE": False, ".inf": float("inf"), ".Inf": float("inf"),
            "-.inf": float("-inf"), "-.Inf": float("-inf"), ".nan": float("nan"), ".NaN": float("nan"),
            "[]": [], "{}": {}}
# Every pattern by which YAML reads an unquoted scalar as something other than a string, in one regex.
_NOT_STR = re.compile("|".join(sorted({
    f"(?:{regexp.pattern})"
    for resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.values()
    for tag, regexp in resolvers if tag != "tag:yaml.org,2002:str"
})), re.X)
_PLAIN_START = frozenset("-?:,[]{}#&*!|>'\"%@`")
MAX_NESTING = 16
_BLANK_OR_COMMENT = re.compile(r"^[ ]*(?:#|$)(?!\Z)", re.M)


class _Odd(Exception):
    """The text leaves the subset: the caller uses the full parser."""


def plain_str(text: str) -> bool:
    """Whether YAML reads this unquoted scalar as a string (not a number, bool, null, date...)."""
    return _NOT_STR.match(text) is None


# Scalars read before, by their text: most lines of 5,000 runs' files repeat (keys, statuses, hosts,
# limits, booleans), so a fresh clone's listing parses each text once. Only immutable values are kept.
_seen: dict[str, Any] = {}
_MISS = object()
_SEEN_MAX = 100_000
_seen_keys: dict[str, bool] = {}  # keys read before: whether each is a plain string


def _plain_key(key: str) -> bool:
    known = _seen_keys.get(key)
    if known is None:
        if len(_seen_keys) >= _SEEN_MAX:
            _seen_keys.clear()
        known = _seen_keys[key] = plain_str(key)
    return known


def _scalar(text: str) -> Any:
    value = _seen.get(text, _MISS)
    if value is not _MISS:
        return value
    value = _read_scalar(text)
    if type(value) not in (list, dict):
        if len(_seen) >= _SEEN_MAX:
            _seen.clear()
        _seen[text] = value
    return value


def _read_scalar(text: str) -> Any:
    if not text:
        return None  # `key:` with nothing after it and no block below
    first = text[0]
    if first == "'":
        if len(text) < 2 or text[-1] != "'" or "'" in text[1:-1].replace("''", ""):
            raise _Odd
        return text[1:-1].replace("''", "'")
    if first == '"':
        body = text[1:-1]
        if len(text) < 2 or text[-1] != '"' or "\\" in body or '"' in body:
            raise _Odd
        return body
    if text in _SPECIAL:
        value = _SPECIAL[text]
        return [] if value == [] else {} if value == {} else value
    if (first in _PLAIN_START and not (first in "-?:" and len(text) > 1 and text[1] not in " ,[]{}")) \
            or ": " in text or " #" in text or text.endswith((":", " ")) or "\t" in text:
        raise _Odd
    if plain_str(text):
        return text
    if _INT.fullmatch(text):
        if len(text) > 4000:  # past Python's int-from-text bound: PyYAML reports it as damage
            raise _Odd
        return int(text)
    if _FLOAT.fullmatch(text) and any(c.isdigit() for c in text):
        return float(text)
    raise _Odd  # a timestamp, a YAML 1.1 octal or sexagesimal number, yes/no...: PyYAML decides


class _Reader:
    # Loops over local names with the regex matching at an offset (no slices, no helper calls per line):
    # a fresh clone's listing runs this for every line of thousands of files.
    def __init__(self, lines: list[str]):
        self.lines = lines
        self.indents = [len(line) - len(line.lstrip(" ")) for line in lines]
        self.i = 0

    def block(self, indent: int, depth: int) -> Any:
        if depth > MAX_NESTING:
            raise _Odd
        i = self.i
        if i >= len(self.lines) or self.indents[i] != indent:
            raise _Odd
        if self.lines[i].startswith("- ", indent) or self.lines[i][indent:] == "-":
            return self.sequence(indent, depth)
        return self.mapping(indent, depth, {})

    def sequence(self, indent: int, depth: int) -> list[Any]:
        items: list[Any] = []
        lines, indents, n = self.lines, self.indents, len(self.lines)
        while self.i < n and indents[self.i] == indent and lines[self.i].startswith("- ", indent):
            i = self.i
            if _KEY.fullmatch(lines[i], indent + 2):  # `- key: value`: a mapping whose keys sit at indent + 2
                lines[i] = " " * (indent + 2) + lines[i][indent + 2:]
                indents[i] = indent + 2
                items.append(self.mapping(indent + 2, depth + 1, {}))
            else:
                self.i = i + 1
                items.append(_scalar(lines[i][indent + 2:]))
        return items

    def mapping(self, indent: int, depth: int, out: dict[str, Any]) -> dict[str, Any]:
        lines, indents, n = self.lines, self.indents, len(self.lines)
        match_key, scalar = _KEY.fullmatch, _scalar
        i = self.i
        while i < n and indents[i] == indent:
            match = match_key(lines[i], indent)
            if match is None:
                raise _Odd
            key, value = match.group(1, 2)
            if key in out or not _plain_key(key):
                raise _Odd  # a repeated key, or one YAML would read as a number or bool
            i += 1
            if value is not None:
                out[key] = scalar(value)
                continue
            self.i = i
            if i < n and indents[i] > indent:
                out[key] = self.block(indents[i], depth + 1)
            elif i < n and indents[i] == indent and lines[i].startswith("- ", indent):
                out[key] = self.sequence(indent, depth + 1)  # PyYAML's layout: not indented
            else:
                out[key] = None
            i = self.i
        self.i = i
        return out


def parse(text: str) -> Any:
    """The document in `text` when it stays in the subset (see the module doc), else None."""
    if "\t" in text or "\r" in text or text.startswith(("%", "---")) or "\n..." in text:
        return None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or _BLANK_OR_COMMENT.search(text):
        return None  # blank lines and comments: a person wrote this, PyYAML reads it
    reader = _Reader(lines)
    try:
        value = reader.block(0, 0)
    except (_Odd, RecursionError):
        return None
    if reader.i != len(lines):
        return None
    return value


__all__ = ["parse", "plain_str"]
