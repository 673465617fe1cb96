"""Marker sections of a Markdown document (the living docs): the format, read and spliced.

Each increment's section sits between `<!-- specweave-ml:begin ID -->` and `<!-- specweave-ml:end ID -->`;
only the lines between a pair are ever replaced. Parsed here, below the writer that renders sections
(skill.analysis.living_docs) and the merge driver that takes one clone's sections into another's
(skill.storage.merging).
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import DamagedFile

BEGIN = "<!-- specweave-ml:begin {} -->"
END = "<!-- specweave-ml:end {} -->"
MARKER_RE = re.compile(r"^<!-- specweave-ml:(begin|end) (\S+) -->[ \t]*$")


def wrap_section(section_id: str, body: str) -> str:
    """A section's text, markers included, ending with a newline."""
    return f"{BEGIN.format(section_id)}\n{body}\n{END.format(section_id)}\n"


def marker_blocks(text: str, path: Path) -> dict[str, tuple[int, int]]:
    """Marker blocks of the document: id -> (first line, last line), both marker lines, 0-based."""
    blocks: dict[str, tuple[int, int]] = {}
    open_id, open_line = None, 0
    for number, line in enumerate(text.splitlines()):
        match = MARKER_RE.match(line)
        if not match:
            continue
        kind, inc_id = match.groups()
        if kind == "begin":
            if open_id is not None:
                raise DamagedFile(str(path), f"marker for {inc_id} opens inside the section of {open_id}; "
                                  "fix the markers by hand", number + 1)
            if inc_id in blocks:
                raise DamagedFile(str(path), f"two sections for {inc_id}; delete one", number + 1)
            open_id, open_line = inc_id, number
        else:
            if open_id != inc_id:
                raise DamagedFile(str(path), f"end marker for {inc_id} without its begin marker", number + 1)
            blocks[inc_id] = (open_line, number)
            open_id = None
    if open_id is not None:
        raise DamagedFile(str(path), f"the section of {open_id} has no end marker", open_line + 1)
    return blocks


def merge_sections(text: str, sections: dict[str, str], path: Path) -> tuple[str, list[str]]:
    """Replace or insert each section; everything else in `text` is kept as it is."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    changed: list[str] = []
    for inc_id, section in sorted(sections.items()):
        blocks = marker_blocks("".join(lines), path)
        new_lines = section.splitlines(keepends=True)
        if inc_id in blocks:
            start, end = blocks[inc_id]
            if lines[start:end + 1] != new_lines:
                lines[start:end + 1] = new_lines
                changed.append(inc_id)
            continue
        later = sorted((start, other) for other, (start, _) in blocks.items() if other > inc_id)
        if later:
            at = later[0][0]
            lines[at:at] = [*new_lines, "\n"]
        else:
            if lines and lines[-1].strip():
                lines.append("\n")
            lines.extend(new_lines)
        changed.append(inc_id)
    return "".join(lines), changed


__all__ = ["BEGIN", "END", "MARKER_RE", "marker_blocks", "merge_sections", "wrap_section"]
