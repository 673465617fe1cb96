"""What the store tells git about itself, so that clones merge cleanly and derived files stay out."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from ..layout import COMPARISON_FILE, DECISIONS_FILE, EDITS_FILE, LIVING_DOCS, SPECWEAVE_DIR
from .atomic_writes import atomic_write
from .store_dirs import make_store_dirs

# decisions.jsonl is append-only, one decision per line: a union merge keeps every line of both
# sides, which is exactly right, where git's default would stop on a conflict.
UNION_MERGE_LINE = f"increments/**/experiments/{DECISIONS_FILE} merge=union"
# comparison.md and the living docs are derived: merged by the driver `sw-ml init` registers
# (skill.storage.merging); where it is not registered git falls back to its text merge.
DERIVED_MERGE_LINES = (
    f"increments/**/experiments/{COMPARISON_FILE} merge=specweave-derived",
    f"{'/'.join(LIVING_DOCS)} merge=specweave-derived",
)
# edits.jsonl (notes, tags, status set after a run) is append-only too: see storage.edits.
EDITS_MERGE_LINE = f"increments/**/experiments/*/{EDITS_FILE} merge=union"
MERGE_LINES = (UNION_MERGE_LINE, EDITS_MERGE_LINE, *DERIVED_MERGE_LINES)


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
    make_store_dirs(path.parent)  # in a store: never through a folder a clone committed as a link
    atomic_write(path, prefix + header + "\n".join(missing) + "\n")
    return True


def ensure_merge_rules(root: Path) -> bool:
    """Make `.specweave/.gitattributes` merge decisions by union and the derived files with our driver;
    True when it was changed."""
    store = root / SPECWEAVE_DIR
    if store.is_symlink() or (store / ".gitattributes").is_symlink():
        return False  # a planted link: never written through (the writers that follow refuse it loudly)
    return ensure_lines(store / ".gitattributes", MERGE_LINES)


def register_merge_driver(root: Path, python: str) -> bool | None:
    """Register the `specweave-derived` merge driver in the repository's own git config (clones do not
    carry config: each clone runs `sw-ml init` once). True when it changed, None outside a git work tree."""
    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30,
                              check=False)

    try:
        if git("rev-parse", "--is-inside-work-tree").stdout.strip() != "true":
            return None
        driver = f"{shlex.quote(python)} -m specweave.merge_driver %O %A %B %P %L"
        wanted = {"merge.specweave-derived.name": "specweave-ml derived files (comparison.md, living docs)",
                  "merge.specweave-derived.driver": driver}
        changed = False
        for key, value in wanted.items():
            if git("config", "--local", "--get", key).stdout.rstrip("\n") != value:
                git("config", "--local", key, value)
                changed = True
        return changed
    except (OSError, subprocess.SubprocessError):
        return None


def ignore_folder(folder: Path, why: str) -> None:
    """Make `folder` ignore itself in git (a `.gitignore` of `*` inside it), once."""
    marker = folder / ".gitignore"
    if not marker.exists() and not marker.is_symlink():
        atomic_write(marker, f"# {why}\n*\n")
