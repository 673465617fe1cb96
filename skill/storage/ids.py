"""Experiment ids: readable `exp-NNN-slug`, folders `exp-NNN-slug.uid`, allocated without races.

The number is what people see and type; the short random `uid` in the folder
name keeps two clones that both log `exp-001-baseline` from writing the same
folder, so their histories merge in git with no conflict.
"""

from __future__ import annotations

import os
import re
import secrets
import string
import threading
import unicodedata
from pathlib import Path

from ..layout import EXPERIMENT_DIR_RE
from .cache_dir import ignore_cache
from .store_dirs import make_store_dirs

_UID_ALPHABET = string.ascii_lowercase + string.digits
_SLUG_MAX = 60
_hints: dict[str, int] = {}
# Letters that NFKD does not split into ASCII + accent.
_TRANSLIT = str.maketrans({"ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss",
                           "đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "þ": "th", "Þ": "TH", "ı": "i"})
_hints_lock = threading.Lock()


def slugify(name: str) -> str:
    """A safe folder slug from any name: ASCII, lower case, digits and dashes, at most 60 chars."""
    text = unicodedata.normalize("NFKD", str(name).translate(_TRANSLIT)).encode("ascii", "ignore").decode("ascii").lower()
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    text = text[:_SLUG_MAX].rstrip("-")
    return text or "run"


def new_uid() -> str:
    """Six characters from 64 random bits of the OS (one read, not one per character): what keeps two
    clones' folders apart, so it comes from the OS in every process, forked ones included."""
    raw = int.from_bytes(secrets.token_bytes(8), "big")
    out = []
    for _ in range(6):
        raw, index = divmod(raw, len(_UID_ALPHABET))
        out.append(_UID_ALPHABET[index])
    return "".join(out)


def readable_id(number: int, slug: str) -> str:
    return f"exp-{number:03d}-{slug}"


def parse_dir(name: str) -> tuple[int, str, str] | None:
    """(number, slug, uid) of an experiment folder name, or None if it is not one."""
    match = EXPERIMENT_DIR_RE.match(name)
    if not match:
        return None
    return int(match["number"]), match["slug"], match["uid"]


def _highest_number(exp_dir: Path, claims_dir: Path) -> int:
    highest = 0
    for folder in (exp_dir, claims_dir):
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            continue
        for entry in names:
            if folder is claims_dir:
                if entry.isdigit():
                    highest = max(highest, int(entry))
            else:
                parsed = parse_dir(entry)
                if parsed:
                    highest = max(highest, parsed[0])
    return highest


def allocate(exp_dir: Path, claims_dir: Path, slug: str, *, create: bool = True) -> tuple[int, str, Path]:
    """Claim the next free number and create the experiment folder (`create=False`: only name it, for a
    caller that builds the run elsewhere and renames it into place whole: an importer, which a SIGKILL
    between this `mkdir` and its own rename would otherwise leave as an empty folder read as a run).

    Each number is claimed with `mkdir` in the (git-ignored) cache, which
    succeeds for exactly one process; a loser tries the next number. The
    first call per increment scans for the highest number in use; later calls
    in the process start from a remembered hint, so allocation stays cheap as
    an increment grows.
    """
    make_store_dirs(exp_dir)  # never through a folder a clone committed as a link
    fresh = not claims_dir.is_dir()
    make_store_dirs(claims_dir)
    if fresh:
        ignore_cache(claims_dir)
    key = str(claims_dir)
    with _hints_lock:
        hint = _hints.get(key)
        number = (hint if hint is not None else _highest_number(exp_dir, claims_dir)) + 1
        while True:
            try:
                os.mkdir(claims_dir / f"{number:06d}")
                break
            except FileExistsError:
                number += 1
        _hints[key] = number
    while True:
        folder = exp_dir / f"{readable_id(number, slug)}.{new_uid()}"
        try:
            if create:
                folder.mkdir()
            elif os.path.lexists(folder):  # the number is this process's alone: only a uid clash gets here
                raise FileExistsError(folder)
            return number, readable_id(number, slug), folder
        except FileExistsError:  # a uid clash: vanishingly rare, and harmless to retry
            continue
