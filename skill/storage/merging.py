"""Merging the files the tool derives (comparison.md, the living docs) when two clones meet.

Registered by `sw-ml init` as git's merge driver `specweave-derived` and named
for those files in `.specweave/.gitattributes`. Why a driver: both files are
regenerated from the experiments, so two clones that each compared and synced
change the same lines (a count, the best model) and git's text merge stops on
a conflict in a file nobody wrote by hand. The driver never stops a merge:

- a clean line merge (clones that worked in different increments, or added
  rows with no neighbour in common) is taken as git would take it;
- otherwise, for the living docs, each increment's section comes from the side
  that changed it (ours when both did), and text outside the markers is ours;
- otherwise (comparison.md) ours is kept.

What is kept is a whole, consistent file; where both sides changed one
section it lags behind the merged experiments until the next `sw-ml
compare-experiments` / `sw-ml sync-docs` regenerates it (`sync-docs check`
says so meanwhile). The selected run never lags: it is derived from
decisions.jsonl, which merges by union.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path, PurePosixPath

from ..errors import DamagedFile
from .atomic_writes import atomic_write
from .doc_sections import marker_blocks, merge_sections

DRIVER = "specweave-derived"

# The only paths the driver decides for (git's %P, relative to the repository, `/`-separated): a store's
# comparison.md files and its living docs, the store at the repository's top or in a sub-folder.
_DERIVED_RE = re.compile(
    r"^(?:.+/)?\.specweave/(?:increments/(?:_archive/|_abandoned/|_paused/)?[^/]+/experiments/comparison\.md"
    r"|docs/internal/architecture/ml-experiments\.md)$")


def is_derived_path(name: str) -> bool:
    """Whether `name` (git's %P) is a file this driver was registered for; any other path is merged the
    way git merges text, whatever a committed `.gitattributes` says."""
    posix = str(PurePosixPath(name.replace("\\", "/")))
    return ".." not in posix.split("/") and _DERIVED_RE.match(posix) is not None


def merge_like_git(base: Path, ours: Path, theirs: Path, name: str, marker_size: str | None = None) -> int:
    """git's own three-way text merge of `name` into `ours` (%A), conflict markers included; the exit
    status git expects of a driver: 0 clean, 1 on a conflict (git then stops and shows it), 2 when git
    could not merge (ours is left as it was, and git still reports a conflict)."""
    command = ["git", "merge-file", "-L", f"ours:{name}", "-L", f"base:{name}", "-L", f"theirs:{name}"]
    if marker_size:
        command.append(f"--marker-size={marker_size}")
    try:
        done = subprocess.run([*command, "--", str(ours), str(base), str(theirs)], capture_output=True,
                              timeout=300, check=False)
    except (OSError, subprocess.SubprocessError):
        return 2
    if done.returncode == 0:
        return 0
    return 1 if done.returncode > 0 else 2


def _line_merge(ours: Path, base: Path, theirs: Path) -> str | None:
    """git's own three-way line merge, or None when it conflicts (or git cannot run)."""
    try:
        done = subprocess.run(["git", "merge-file", "-p", "--", str(ours), str(base), str(theirs)],
                              capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:  # >0: that many conflicts; <0: an error
        return None
    return done.stdout.decode("utf-8", "surrogateescape")


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8", "surrogateescape")


def _section_merge(base: str, ours: str, theirs: str) -> str | None:
    """Ours, with each increment section that only theirs changed (or only theirs has) taken from
    theirs; None when any side's markers are broken."""
    here = Path("ml-experiments.md")
    try:
        spans = {name: marker_blocks(text, here) for name, text in (("base", base), ("ours", ours), ("theirs", theirs))}
    except DamagedFile:
        return None

    def section(text: str, which: str, inc_id: str) -> str | None:
        span = spans[which].get(inc_id)
        if span is None:
            return None
        return "".join(text.splitlines(keepends=True)[span[0]:span[1] + 1])

    take: dict[str, str] = {}
    for inc_id in spans["theirs"]:
        mine, old = section(ours, "ours", inc_id), section(base, "base", inc_id)
        new = section(theirs, "theirs", inc_id)
        if new is not None and new != old and mine == old:
            take[inc_id] = new if new.endswith("\n") else new + "\n"
    try:
        return merge_sections(ours, take, here)[0]
    except DamagedFile:
        return None


def merge_derived(base: Path, ours: Path, theirs: Path, name: str) -> bool:
    """Merge the three versions of a derived file into `ours` (git's %A); True when anything other than
    ours was taken. Never fails the merge: the worst case keeps ours."""
    merged = _line_merge(ours, base, theirs)
    if merged is None and Path(name).name.endswith("ml-experiments.md"):
        merged = _section_merge(_read(base), _read(ours), _read(theirs))
    if merged is None or merged == _read(ours):
        return False
    atomic_write(ours, merged.encode("utf-8", "surrogateescape"))
    return True


__all__ = ["DRIVER", "is_derived_path", "merge_derived", "merge_like_git"]
