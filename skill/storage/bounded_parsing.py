"""Parsing what a clone brought, within bounds: JSON and JSON lines no deeper than MAX_DEPTH, YAML safe-loaded
with its aliases' expansion counted (no billion laughs), each problem one line naming the file and line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from ..errors import DamagedFile
from .safe_reads import MAX_READ_BYTES, decode_utf8, read_bytes_nofollow

try:  # libyaml is an order of magnitude faster; fall back quietly.
    _YamlLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _YamlLoader = yaml.SafeLoader


MAX_DEPTH = 64
"""The deepest nesting of lists and mappings accepted (what the tracker writes is one or two deep)."""


MAX_YAML_EXPANDED = 100_000
"""With aliases, the most nodes (plus scalar characters / 64) the document may expand to."""


MAX_YAML_ALIASES = 1_000


TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep"


def read_json(path: Path, max_bytes: int = MAX_READ_BYTES) -> Any:
    """A store JSON file, never through a link, at most `max_bytes`, nested at most MAX_DEPTH deep.

    Anything else (a link, a huge or deeply nested file, text that is not UTF-8 or not JSON) is a
    DamagedFile with a one-line problem, so one hostile file marks one experiment damaged.
    """
    return loads_bounded(decode_utf8(path, read_bytes_nofollow(path, max_bytes)), path)


def read_yaml(path: Path, max_bytes: int = MAX_READ_BYTES) -> Any:
    """A store YAML file, safe-loaded with the same bounds as `read_json`, aliases bounded too."""
    return load_yaml_text(decode_utf8(path, read_bytes_nofollow(path, max_bytes)), path)


def parse_jsonl(path: Path, text: str) -> tuple[list[dict[str, Any]], list[DamagedFile]]:
    """Parse JSON lines, keeping every good line and reporting each bad one.

    A process killed mid-write can leave a truncated last line; that line is
    reported, the rest of the file is still used. A line nested deeper than
    MAX_DEPTH (or that no parser could take) is reported like any other bad line.
    """
    records: list[dict[str, Any]] = []
    problems: list[DamagedFile] = []
    loads = json.loads
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = loads(line)
        except json.JSONDecodeError as exc:
            problems.append(DamagedFile(str(path), exc.msg, lineno))
            continue
        except (RecursionError, ValueError) as exc:
            problems.append(DamagedFile(str(path), _parse_problem(exc), lineno))
            continue
        if not isinstance(record, dict):
            problems.append(DamagedFile(str(path), "a line is not a JSON object", lineno))
        elif line.count("{") + line.count("[") > MAX_DEPTH and too_deep(record):
            problems.append(DamagedFile(str(path), TOO_DEEP, lineno))
        else:
            records.append(record)
    return records, problems


_SEQUENCES = (list, tuple, set, frozenset)


_CONTAINERS = (dict, *_SEQUENCES)


def too_deep(data: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether lists/dicts nest deeper than `limit` (iterative: no recursion on hostile data)."""
    stack = [(data, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        node, depth = pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, _SEQUENCES) else None
        if children is None:
            continue
        if depth > limit:
            return True
        for child in children:
            if isinstance(child, _CONTAINERS):
                push((child, depth + 1))
    return False


def _parse_problem(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return TOO_DEEP
    first = str(exc).splitlines()[0].split("; ")[0] if str(exc) else type(exc).__name__
    return first if len(first) <= 200 else first[:197] + "..."


def loads_bounded(text: str, path: Path, line: int | None = None) -> Any:
    """json.loads with the store's bounds: DamagedFile (one line) for bad JSON, too deep a nesting,
    or what the parser itself refuses (an integer of more than 4300 digits)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DamagedFile(str(path), exc.msg, line or exc.lineno) from None
    except (RecursionError, ValueError) as exc:
        raise DamagedFile(str(path), _parse_problem(exc), line) from None
    if text.count("{") + text.count("[") > MAX_DEPTH and too_deep(data):
        raise DamagedFile(str(path), TOO_DEEP, line)
    return data


def _yaml_children(node: Any) -> list[Any]:
    value = node.value
    if isinstance(node, yaml.MappingNode):
        return [part for pair in value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(value)
    return []


def _yaml_bound_problem(root: Any) -> str | None:
    """Why a composed YAML node graph must not be constructed (None: it may): nesting deeper than
    MAX_DEPTH, a node containing itself, or aliases that expand it past MAX_YAML_EXPANDED.

    An alias is the same node object met again, so sizes are memoised per node: a "billion laughs"
    document is measured in a few microseconds, before anything is built from it.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    aliases = 0
    stack: list[tuple[Any, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        if done:
            open_nodes.discard(key)
            total = 1 + sum(sizes[id(child)] for child in _yaml_children(node))
            if aliases and total > MAX_YAML_EXPANDED:
                return f"YAML aliases expand it past {MAX_YAML_EXPANDED:,} nodes; refusing to build it"
            sizes[key] = total
            continue
        if key in sizes:
            aliases += 1
            if aliases > MAX_YAML_ALIASES:
                return f"more than {MAX_YAML_ALIASES:,} YAML aliases; refusing to build it"
            if sizes[key] > MAX_YAML_EXPANDED:
                return f"YAML aliases expand it past {MAX_YAML_EXPANDED:,} nodes; refusing to build it"
            continue
        if key in open_nodes:
            return "a YAML alias refers to a node that contains it (a recursive document)"
        if depth > MAX_DEPTH:
            return TOO_DEEP
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = 1 + len(node.value) // 64
            continue
        open_nodes.add(key)
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in _yaml_children(node))
    if aliases and sizes.get(id(root), 0) > MAX_YAML_EXPANDED:  # pragma: no cover - caught above
        return f"YAML aliases expand it past {MAX_YAML_EXPANDED:,} nodes; refusing to build it"
    return None


def load_yaml_text(text: str, path: Path) -> Any:
    """Safe-load one YAML document with the store's bounds; DamagedFile (one line) otherwise."""
    loader = _YamlLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        problem = _yaml_bound_problem(node)
        if problem:
            raise DamagedFile(str(path), problem)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise DamagedFile(str(path), str(problem), mark.line + 1 if mark else None) from None
    except (RecursionError, ValueError, TypeError, OverflowError) as exc:  # e.g. a date like 2026-13-45
        raise DamagedFile(str(path), _parse_problem(exc)) from None
    finally:
        loader.dispose()


__all__ = ["MAX_DEPTH", "MAX_YAML_ALIASES", "MAX_YAML_EXPANDED", "TOO_DEEP", "load_yaml_text", "loads_bounded",
           "parse_jsonl", "read_json", "read_yaml", "too_deep"]
