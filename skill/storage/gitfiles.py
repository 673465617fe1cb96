"""What the store tells git about itself, so that clones merge cleanly and derived files stay out."""

from __future__ import annotations

from pathlib import Path

from ..layout import CACHE_DIR, DECISIONS_FILE, SPECWEAVE_DIR
from .fileio import atomic_write

# decisions.jsonl is append-only, one decision per line: a union merge keeps every line of both
# sides, which is exactly right, where git's default would stop on a conflict.
UNION_MERGE_LINE = f"increments/**/experiments/{DECISIONS_FILE} merge=union"


def ensure_lines(path: Path, lines: list[str] | tuple[str, ...], header: str = "") -> bool:
    """Append the `lines` missing from a .gitignore/.gitattributes-style file, keeping what a person
    wrote there; `header` (comment lines) goes before them unless its first line is present.
    True when the file changed."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    present = {line.strip() for line in text.splitlines()}
    missing = [line for line in lines if line not in present]
    if not missing:
        return False
    prefix = text if not text or text.endswith("\n") else text + "\n"
    if header and header.splitlines()[0] in present:
        header = ""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, prefix + header + "\n".join(missing) + "\n")
    return True


def ensure_union_merge(root: Path) -> bool:
    """Make `.specweave/.gitattributes` merge decisions by union; True when it was changed."""
    return ensure_lines(root / SPECWEAVE_DIR / ".gitattributes", [UNION_MERGE_LINE])


def ignore_cache(folder: Path) -> None:
    """Make the cache folder above `folder` ignore itself in git: it is derived and per-clone."""
    for parent in (folder, *folder.parents):
        if parent.name == CACHE_DIR and parent.parent.name == SPECWEAVE_DIR:
            marker = parent / ".gitignore"
            if not marker.exists():
                marker.write_text("# derived and rebuildable: never committed\n*\n", encoding="utf-8")
            return
