"""git's merge driver for the files specweave-ml derives: `python -m specweave.merge_driver %O %A %B %P`.

Registered by `sw-ml init`; the logic is `skill.storage.merging.merge_derived`. Exits 0 always (the
merge goes on with a whole file), except on wrong arguments (2).
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 4:
        print("usage: python -m specweave.merge_driver BASE OURS THEIRS PATH (git passes %O %A %B %P)",
              file=sys.stderr)
        return 2
    from skill.storage.merging import merge_derived

    try:
        merge_derived(Path(args[0]), Path(args[1]), Path(args[2]), args[3])
    except OSError as exc:  # ours is left as it was: still a whole file
        print(f"specweave merge driver: kept our {args[3]} ({exc.strerror or exc})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
