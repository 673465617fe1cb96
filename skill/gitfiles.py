"""What the store tells git about itself, so that clones merge cleanly."""

from __future__ import annotations

from pathlib import Path

from .fileio import atomic_write
from .layout import DECISIONS_FILE, SPECWEAVE_DIR

# decisions.jsonl is append-only, one decision per line: a union merge keeps every line of both
# sides, which is exactly right, where git's default would stop on a conflict.
UNION_MERGE_LINE = f"increments/**/experiments/{DECISIONS_FILE} merge=union"


def ensure_union_merge(root: Path) -> bool:
    """Make `.specweave/.gitattributes` merge decisions by union; True when it was changed."""
    path = root / SPECWEAVE_DIR / ".gitattributes"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    if UNION_MERGE_LINE in text.splitlines():
        return False
    if text and not text.endswith("\n"):
        text += "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text + UNION_MERGE_LINE + "\n")
    return True
