"""The git plumbing of capture, diff and reproduce: never the user's index, never their working tree.

A run's source is its commit plus its patch. To read it without a checkout, the patch is applied to a
scratch index (`GIT_INDEX_FILE`) whose new objects go to a scratch object folder that borrows the
repository's own as an alternate (`GIT_OBJECT_DIRECTORY`, `GIT_ALTERNATE_OBJECT_DIRECTORIES`): the
repository gains nothing, and `git status` of the checkout never changes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..layout import CACHE_DIR, SPECWEAVE_DIR, TMP_DIR

GIT_TIMEOUT_S = 30
# The store's own files are never code: excluded from every patch and code diff.
NOT_STORE = ["--", ".", f":(exclude){SPECWEAVE_DIR}"]


def git(cwd: Path, *args: str, env: dict[str, str] | None = None, input: bytes | None = None,  # noqa: A002
        timeout: float = GIT_TIMEOUT_S) -> subprocess.CompletedProcess[bytes] | None:
    """`git -C cwd ARGS`, its output as bytes; None when git is missing or hangs past `timeout`."""
    full_env = None
    if env:
        full_env = {**os.environ, **env}
    try:
        return subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, input=input, env=full_env,
                              timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return None


def out(done: subprocess.CompletedProcess[bytes] | None) -> str | None:
    """The stripped text output of a git call that succeeded; None otherwise."""
    if done is None or done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", "replace").strip()


def last_line(done: subprocess.CompletedProcess[bytes] | None) -> str:
    """git's own last error line, for a one-line message."""
    if done is None:
        return "git is not installed or did not answer"
    lines = [line for line in done.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"git exited {done.returncode}"


def toplevel(path: Path) -> Path | None:
    """The top of the git working tree holding `path`; None outside git."""
    top = out(git(path, "rev-parse", "--show-toplevel"))
    return Path(top) if top else None


_heads: dict[tuple[int, str], tuple[Path | None, str | None, str | None]] = {}
_heads_lock = threading.Lock()


def head_of(root: Path) -> tuple[Path | None, str | None, str | None]:
    """(the working tree's top, HEAD's commit, its branch or None when detached) of the repository holding
    `root`: one git process, once per process and root. The environment's capture and the code's both
    ask, and git state is taken once per process (code a process runs was imported as it started)."""
    key = (os.getpid(), str(root))
    with _heads_lock:
        known = _heads.get(key)
        if known is None:
            text = out(git(root, "rev-parse", "--show-toplevel", "HEAD", "--abbrev-ref", "HEAD"))
            lines = text.splitlines() if text else []
            if len(lines) == 3:
                known = (Path(lines[0]), lines[1], None if lines[2] == "HEAD" else lines[2])
            else:  # no commit yet (HEAD names none), or not in a repository
                known = (toplevel(root), None, None)
            _heads[key] = known
    return known


def has_commit(top: Path, commit: str) -> bool:
    done = git(top, "cat-file", "-e", f"{commit}^{{commit}}")
    return done is not None and done.returncode == 0


_facts: dict[tuple[int, str], tuple[bool, str | None]] = {}
_facts_lock = threading.Lock()


def config_facts(where: Path) -> tuple[bool, str | None]:
    """(whether the repository at `where` names a remote, git's user.email or None): one `git config`
    process, once per process and folder. The code's capture asks the first and the environment's the
    second; each was a process of its own (`git remote`, `git config user.email`) at every run's start."""
    key = (os.getpid(), str(where))
    with _facts_lock:
        known = _facts.get(key)
        if known is None:
            text = out(git(where, "config", "--get-regexp", r"^(remote\..*\.url|user\.email)$")) or ""
            remote, email = False, None
            for line in text.splitlines():
                name, _, value = line.partition(" ")
                if name == "user.email":
                    email = value.strip() or None  # set at several levels: the last one is git's answer
                else:
                    remote = True
            known = _facts[key] = (remote, email)
    return known


def on_remote(top: Path, commit: str) -> bool | None:
    """Whether a remote-tracking branch holds `commit` (as this clone last fetched); None without remotes."""
    if not config_facts(top)[0]:
        return None
    found = git(top, "for-each-ref", "--count=1", "--contains", commit, "--format=%(refname)", "refs/remotes")
    if found is None or found.returncode != 0:
        return None
    return bool(found.stdout.strip())


def objects_dir(top: Path) -> Path | None:
    path = out(git(top, "rev-parse", "--git-path", "objects"))
    if not path:
        return None
    return (top / path).resolve() if not os.path.isabs(path) else Path(path)


@contextmanager
def scratch_dir(root: Path) -> Iterator[Path]:
    """A folder for scratch files under `.specweave/cache/tmp/` (git-ignored), removed afterwards;
    the system's temp folder when the store cannot hold one."""
    base: Path | None = None
    try:
        from ..storage.cache_dir import ignore_cache
        from ..storage.paths import make_dirs_within

        if (root / SPECWEAVE_DIR).is_dir():
            base = make_dirs_within(root / SPECWEAVE_DIR, (CACHE_DIR, TMP_DIR), "the store")
            ignore_cache(base)
    except (OSError, ValueError):
        base = None
    folder = Path(tempfile.mkdtemp(prefix="repro-", dir=base))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class TreeProblem(Exception):
    """A run's source tree cannot be built: the commit is missing or the patch does not apply."""


def scratch_env(top: Path, scratch: Path, name: str) -> dict[str, str]:
    """Environment for git commands that build trees in `scratch` without writing to the repository."""
    objects = objects_dir(top)
    if objects is None:
        raise TreeProblem("not a git repository")
    own = scratch / "objects"
    own.mkdir(exist_ok=True)
    return {"GIT_INDEX_FILE": str(scratch / f"index-{name}"), "GIT_OBJECT_DIRECTORY": str(own),
            "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(objects)}


def tree_of(top: Path, commit: str, patch: Path | None, env: dict[str, str]) -> str:
    """The tree id of `commit` with `patch` applied (in the scratch objects of `env`)."""
    if not has_commit(top, commit):
        raise TreeProblem(f"commit {commit[:12]} is not in this repository")
    if patch is None:
        tree = out(git(top, "rev-parse", f"{commit}^{{tree}}"))
        if not tree:
            raise TreeProblem(f"commit {commit[:12]} has no tree")
        return tree
    done = git(top, "read-tree", commit, env=env)
    if done is None or done.returncode != 0:
        raise TreeProblem(f"cannot read commit {commit[:12]}: {last_line(done)}")
    done = git(top, "apply", "--cached", "--binary", "--whitespace=nowarn", str(patch), env=env)
    if done is None or done.returncode != 0:
        raise TreeProblem(f"its patch does not apply to {commit[:12]}: {last_line(done)}")
    tree = out(git(top, "write-tree", env=env))
    if not tree:
        raise TreeProblem("cannot write the patched tree")
    return tree


__all__ = ["NOT_STORE", "TreeProblem", "git", "has_commit", "last_line", "on_remote", "out", "scratch_dir",
           "scratch_env", "toplevel", "tree_of"]
