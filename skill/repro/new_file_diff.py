"""The diff that adds an untracked text file, written here rather than by one git process per file.

`git diff --no-index --full-index /dev/null <name>` for each untracked source file cost about 2 ms of CPU
a file at every run's start (30 new scripts: 60 ms, taken from the training beside it). For a plain text
file under a plain name the diff is a fixed form, written here byte for byte as git writes it
(`tests/test_repro_capture.py` holds the two side by side); for anything else (a symbolic link, an empty
or binary file, a name git would quote or pad) `new_file_diff` says None and the caller asks git.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat

# Names git prints as they are: no quoting (control bytes, quotes, backslashes, non-ASCII under
# core.quotePath) and no space (git ends a `---`/`+++` line naming one with a tab).
_PLAIN_NAME = re.compile(r"[A-Za-z0-9._/+@=,-]+")
_BINARY_PROBE = 8000  # git's rule: a NUL byte in the first 8000 bytes makes a file binary


def new_file_diff(name: str, data: bytes, st: os.stat_result) -> bytes | None:
    """The new-file diff of `data` (the file `name`, relative to the repository's top, with `st` its lstat),
    as `git diff --no-index --full-index` prints it; None where git must write it."""
    if not stat.S_ISREG(st.st_mode) or not data or b"\0" in data[:_BINARY_PROBE] or not _PLAIN_NAME.fullmatch(name):
        return None
    mode = "100755" if st.st_mode & stat.S_IXUSR else "100644"
    blob = hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()
    lines = data.split(b"\n")
    whole = data.endswith(b"\n")
    if whole:
        lines.pop()
    count = "" if len(lines) == 1 else f",{len(lines)}"
    head = (f"diff --git a/{name} b/{name}\nnew file mode {mode}\nindex {'0' * 40}..{blob}\n"
            f"--- /dev/null\n+++ b/{name}\n@@ -0,0 +1{count} @@\n").encode()
    body = b"".join(b"+" + line + b"\n" for line in lines)
    return head + body + (b"" if whole else b"\\ No newline at end of file\n")


__all__ = ["new_file_diff"]
