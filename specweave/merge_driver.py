"""git's merge driver for the files specweave-ml derives: `python -m specweave.merge_driver %O %A %B %P [%L]`.

Registered by `sw-ml init`; the logic is `skill.storage.merging.merge_derived`. For comparison.md and the
living docs it exits 0 (the merge goes on with a whole file). Any other path reaches this driver only
through a `.gitattributes` line somebody else committed (`*.py merge=specweave-derived`): for those it does
exactly what git's own text merge does (`git merge-file`, conflict markers included) and exits non-zero on a
conflict, so git stops and shows it. Wrong arguments: 2.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (4, 5):
        print("usage: python -m specweave.merge_driver BASE OURS THEIRS PATH [MARKER_SIZE] "
              "(git passes %O %A %B %P %L)", file=sys.stderr)
        return 2
    from skill.storage.merging import is_derived_path, merge_derived, merge_like_git

    base, ours, theirs, name = Path(args[0]), Path(args[1]), Path(args[2]), args[3]
    marker = args[4] if len(args) == 5 and args[4].isdigit() else None
    if not is_derived_path(name):
        return merge_like_git(base, ours, theirs, name, marker)
    try:
        merge_derived(base, ours, theirs, name)
    except OSError as exc:  # ours is left as it was: still a whole file
        print(f"specweave merge driver: kept our {name} ({exc.strerror or exc})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
