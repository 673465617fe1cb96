"""What a run records, without being asked, so that it can be rebuilt: captured in the background.

As a run opens, the only work done on the caller's thread is reading the working directory and the
command line (a microsecond) and queueing a job; the job waits until the run is open (the end of the
Experiment's constructor) and then, on one daemon worker thread per process, reads the generators'
states and runs git (the patch, the untracked files, the remote). So the capture never competes with
a run's start for the interpreter; the run writes what it found when it is ready, like the environment
capture, and its end waits for it (at most 5 s). Once git has run in the process, a later run's capture
(the generators' states and a few paths, under 0.1 ms) is taken on the caller's thread as the run opens:
cheaper than a hand-over to the worker thread and back, which a run that ends as soon as it opens (a
trial's run written after the trial) would wait for. Recorded in metadata.yaml's `capture`, the patch
beside it as `code.patch`:

- the patch: `git diff HEAD --binary` of tracked files (the store excluded), plus every untracked
  *source* file (by suffix) up to MAX_FILE_BYTES each and MAX_TOTAL_BYTES in all, as new-file diffs
  (written by `new_file_diff` as git writes them, git asked only for the odd file);
  what was left out (too large, not source, binary, past the total) is listed with the bounds;
- `cwd` relative to the repository root, and `argv`: the command after the interpreter
  (`sys.orig_argv`, so `-m pkg.train` stays a module run); an absolute path inside the repository is
  stored relative to the working directory, so the command runs the same in a worktree;
- `seeds`: `torch.initial_seed()` where torch is loaded and the seed is below 2**32 (torch's own
  default is a random 64-bit number: no seed anyone set); numpy's global generator when it is freshly
  seeded with a 32-bit integer (`numpy.random.seed(n)` keeps n as the first word of its key: read, then
  verified); Python's `random` when its untouched state is the state of a candidate seed (0-1024 and a
  few favourites, tabled once per process). A seed set after the run opened, or a state already drawn
  from, cannot be read back (a wrong seed is never named): log it as a param (`seed`, `random_state`,
  `*_seed` params count as the run's seeds too);
- `on_remote`: whether a remote-tracking branch holds the commit, so that `reproduce` can refuse early.

Git state is taken once per process (as the environment capture's commit and dirty flag are): code a
process runs was imported as it started. SPECWEAVE_CAPTURE=0 turns the capture off.
"""

from __future__ import annotations

import functools
import os
import queue
import random
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DamagedFile
from ..schemas.records import CaptureInfo, GitInfo, LeftOut
from ..storage.safe_reads import read_bytes_nofollow
from .gitwork import NOT_STORE, git, head_of, on_remote
from .new_file_diff import new_file_diff

PATCH_FILE = "code.patch"
MAX_FILE_BYTES = 256 << 10
MAX_TOTAL_BYTES = 1 << 20
MAX_PATCH_BYTES = 16 << 20  # tracked changes past this (a changed data file) are not kept
MAX_LISTED = 50  # left-out files named in metadata.yaml; the count of the rest is a problem line
SOURCE_SUFFIXES = frozenset({
    ".py", ".pyx", ".pxd", ".pyi", ".ipynb", ".r", ".jl", ".sh", ".bash", ".zsh", ".sql", ".scala", ".java",
    ".kt", ".go", ".rs", ".c", ".cc", ".cpp", ".cxx", ".h", ".hpp", ".cu", ".cuh", ".js", ".ts", ".lua", ".pl",
    ".rb", ".m", ".yaml", ".yml", ".toml", ".cfg", ".ini", ".json", ".jsonnet", ".txt", ".md", ".rst", ".j2",
    ".jinja", ".mk", ".cmake", ".proto", ".gin", ".env",
})
SOURCE_NAMES = frozenset({"Makefile", "Dockerfile", "Snakefile", "Justfile", "Pipfile", "Procfile", "MLproject",
                          "requirements.txt", "setup.py", "pyproject.toml", "dvc.yaml", "params.yaml"})

ENABLED_ENV = "SPECWEAVE_CAPTURE"           # "0": no capture (the benchmark's baseline)
REPRODUCES_ENV = "SPECWEAVE_REPRODUCES"      # set by `sw-ml reproduce` for the rerun: "<increment>/<folder>"
REPRODUCE_CODE_ENV = "SPECWEAVE_REPRODUCE_CODE"  # and the worktree its code runs from
REPRODUCE_INCREMENT_ENV = "SPECWEAVE_REPRODUCE_INCREMENT"

SEED_CANDIDATES = (*range(1025), 1337, 2020, 2021, 2022, 2023, 2024, 2025, 2026, 4242, 9999, 12345, 31337, 65536,
                   99999, 123456, 424242, 1234567, 2**31 - 1)
_SEED_PARAMS = ("seed", "random_state", "random_seed", "rng_seed", "manual_seed")


# -- one daemon worker per process ------------------------------------------------------------------
class _Job:
    def __init__(self, fn: Callable[[], Any]):
        self.fn, self.result, self.done = fn, None, threading.Event()

    def run(self) -> None:
        try:
            self.result = self.fn()
        except Exception as exc:  # capture is best effort: a run never fails for it
            self.result = exc
        finally:
            self.done.set()


_jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
_worker_pid: int | None = None
_lock = threading.Lock()


def _work() -> None:
    while True:
        _jobs.get().run()


def _ensure_worker() -> None:
    global _worker_pid
    with _lock:
        if _worker_pid != os.getpid():  # first use, or a forked child (threads do not survive a fork)
            _worker_pid = os.getpid()
            threading.Thread(target=_work, name="specweave-capture", daemon=True).start()


def submit(fn: Callable[[], Any]) -> _Job:
    """Run `fn` on the capture thread."""
    job = _Job(fn)
    _ensure_worker()
    _jobs.put(job)
    return job


# -- the code: once per process and repository -----------------------------------------------------
@dataclass
class CodeState:
    top: Path | None = None
    commit: str | None = None
    patch: bytes | None = None
    patch_files: list[str] = field(default_factory=list)
    untracked: list[str] = field(default_factory=list)
    left_out: list[LeftOut] = field(default_factory=list)
    on_remote: bool | None = None
    problems: list[str] = field(default_factory=list)


def _is_source(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name in SOURCE_NAMES or os.path.splitext(name)[1].lower() in SOURCE_SUFFIXES


def _names(data: bytes) -> list[str]:
    return [n for n in data.decode("utf-8", "surrogateescape").split("\0") if n]


@dataclass(frozen=True)
class Changes:
    """The working tree against HEAD, the store excluded, as one pass of git saw it. The code capture
    (the patch) and the environment's (the dirty flag and its hash) both read it: once per process and
    root, where each used to ask git on its own (`git status` and a second `git diff HEAD`)."""

    failed: bool = False  # `git diff HEAD` did not run
    tracked: bytes = b""  # its `--binary` patch; empty past MAX_PATCH_BYTES too (`size` says)
    size: int = 0
    changed: tuple[str, ...] = ()  # the tracked files it touches
    untracked: tuple[str, ...] = ()  # untracked and not ignored, from the top
    sha256: str | None = None  # of the patch and the untracked names; None when nothing changed


_changes: dict[tuple[int, str], Changes] = {}
_changes_lock = threading.Lock()


def working_changes(root: Path) -> Changes:
    """The `Changes` of the repository holding `root` (which has a commit), taken on first use."""
    key = (os.getpid(), str(root))
    with _changes_lock:
        known = _changes.get(key)
        if known is None:
            known = _changes[key] = _take_changes(root)
    return known


def _take_changes(root: Path) -> Changes:
    import hashlib

    tracked = git(root, "diff", "HEAD", "--binary", "--no-color", "--no-ext-diff", "--no-renames", *NOT_STORE)
    if tracked is None or tracked.returncode != 0:
        return Changes(failed=True)
    changed: list[str] = []
    if tracked.stdout:  # a clean tree's names are none: no second process
        names = git(root, "diff", "HEAD", "--name-only", "-z", "--no-renames", *NOT_STORE)
        changed = _names(names.stdout) if names is not None and names.returncode == 0 else []
    others = git(root, "ls-files", "--others", "--exclude-standard", "-z", "--full-name", *NOT_STORE)
    untracked = _names(others.stdout) if others is not None and others.returncode == 0 else []
    sha = None
    if tracked.stdout or untracked:
        digest = hashlib.sha256(tracked.stdout)
        digest.update("\0".join(untracked).encode("utf-8", "surrogateescape"))
        sha = digest.hexdigest()
    size = len(tracked.stdout)
    return Changes(tracked=tracked.stdout if size <= MAX_PATCH_BYTES else b"", size=size, changed=tuple(changed),
                   untracked=tuple(untracked), sha256=sha)


def capture_git(root: Path) -> GitInfo:
    """Commit, branch, dirty flag and a hash of the uncommitted changes, ignoring `.specweave/` itself.

    The store's own files are excluded: logging an experiment must not make the next one look dirty. The
    changes are the code capture's own pass of git (`working_changes`): a tree is dirty when a tracked
    file differs from HEAD or an untracked file is not ignored, and `diff_sha256` hashes that patch and
    those names."""
    _top, commit, branch = head_of(root)  # one git process, shared with the code's capture
    if commit is None:
        return GitInfo()
    changes = working_changes(root)
    return GitInfo(commit=commit, branch=branch, dirty=changes.sha256 is not None, diff_sha256=changes.sha256)


def capture_code(root: Path) -> CodeState:
    """The uncommitted changes of the repository holding `root` (see the module doc)."""
    top, commit, _branch = head_of(root)  # one git process, shared with the environment's capture
    state = CodeState(top=top)
    if top is None:
        return state
    state.commit = commit
    if not state.commit:
        return state
    state.on_remote = on_remote(top, state.commit)
    changes = working_changes(root)
    if changes.failed:
        state.problems.append("git diff failed: the uncommitted changes were not recorded")
        return state
    parts = [changes.tracked] if changes.tracked else []
    state.patch_files = list(changes.changed)
    if changes.size > MAX_PATCH_BYTES:
        state.problems.append(f"the tracked changes are {changes.size} bytes, over {MAX_PATCH_BYTES}: not kept")
        return state
    total, left = 0, []
    for name in changes.untracked:
        try:
            st = os.lstat(top / name)
        except OSError:
            continue
        reason = None
        if not _is_source(name):
            reason = "not a source file"
        elif st.st_size > MAX_FILE_BYTES:
            reason = f"over {MAX_FILE_BYTES} bytes"
        elif total + st.st_size > MAX_TOTAL_BYTES:
            reason = f"past the {MAX_TOTAL_BYTES}-byte total"
        if reason is None:
            try:  # the store's bounded reader: never through a link, never waits on a FIFO
                data = read_bytes_nofollow(top / name, MAX_FILE_BYTES)
            except (OSError, DamagedFile):
                data = b""  # git is asked, and says why it cannot
            diff = new_file_diff(name, data, st)  # most files: no git process
            if diff is None:
                done = git(top, "diff", "--no-index", "--full-index", "--binary", "--no-color", "--", "/dev/null", name)
                if done is None or done.returncode not in (0, 1):
                    reason = "git could not read it"
                elif b"GIT binary patch" in done.stdout:
                    reason = "binary"
                diff = None if reason else done.stdout
            if diff is not None:
                parts.append(diff)
                total += st.st_size
                state.untracked.append(name)
                continue
        left.append(LeftOut(path=name, size=st.st_size, reason=reason))
    state.left_out = left[:MAX_LISTED]
    if len(left) > MAX_LISTED:
        state.problems.append(f"{len(left) - MAX_LISTED} more untracked files left out (not listed)")
    state.patch_files += state.untracked
    patch = b"".join(part if part.endswith(b"\n") else part + b"\n" for part in parts)
    state.patch = patch or None
    return state


_code: dict[tuple[int, str], CodeState] = {}


def code_state(root: Path) -> CodeState:
    """The process's code capture for `root`, computed on first use (on the capture thread)."""
    key = (os.getpid(), str(root))
    state = _code.get(key)
    if state is None:
        state = _code[key] = capture_code(root)
    return state


def start(root: Path, increment: str | None) -> str | None:
    """Start this process's capture thread as a run opens (track_experiment calls it); returns the
    increment to log into: the one given, or, in a rerun started by `sw-ml reproduce` for a script that
    names none, the original run's."""
    if os.environ.get(ENABLED_ENV) != "0":
        _ensure_worker()
    return increment or os.environ.get(REPRODUCE_INCREMENT_ENV) or None


# -- seeds ------------------------------------------------------------------------------------------
def _rng_snapshot() -> dict[str, Any]:
    """The generators' states (numpy and torch only if the script loaded them); a state already drawn from
    matches no seed, so a late read can miss a seed but never name a wrong one."""
    snap: dict[str, Any] = {"random": random.getstate()}
    random_module = sys.modules.get("numpy.random")  # never imported here (8 ms): unloaded, nobody seeded it
    if random_module is not None:
        try:
            snap["numpy"] = random_module.get_state()
        except Exception:  # noqa: S110 - a numpy without the legacy generator
            pass
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            snap["torch"] = int(torch.initial_seed())
        except Exception:  # noqa: S110
            pass
    return snap


_random_table: dict[tuple[int, ...], int] = {}
_random_tried = [0]  # how many of SEED_CANDIDATES the table holds


def _random_seed(state: Any, hints: tuple[int, ...] = ()) -> int | None:
    """The candidate seed whose `random.seed(seed)` state this is (a table built per process: a seeded
    state says nothing of its seed, so the candidates are seeded and remembered). `hints` are tried first:
    the seed numpy's or torch's generator was given (transformers' and Lightning's `seed_everything`
    seed all three with one number), one seeding each. Else the table grows only as far as the seed it
    looks for: a small seed costs tens of candidates (1.3 ms for 42), not all of them (about 10 ms, on
    the capture thread beside the training loop)."""
    if not (isinstance(state, tuple) and len(state) == 3 and state[1][-1] == 624):  # drawn from: no seed
        return None
    for hint in hints:
        if 0 <= hint < 2**32 and random.Random(hint).getstate() == state:
            return hint
    key = tuple(state[1][1:5])
    seed = _random_table.get(key)
    while seed is None and _random_tried[0] < len(SEED_CANDIDATES):
        candidate = SEED_CANDIDATES[_random_tried[0]]
        _random_tried[0] += 1
        made = tuple(random.Random(candidate).getstate()[1][1:5])
        _random_table.setdefault(made, candidate)
        if made == key:
            seed = _random_table[made]
    return seed if seed is not None and random.Random(seed).getstate() == state else None


def seeds_of(snap: dict[str, Any]) -> dict[str, int]:
    """The seeds the snapshot's states were made by, where they can be told (see the module doc)."""
    found: dict[str, int] = {}
    if "torch" in snap and 0 <= snap["torch"] < 2**32:
        found["torch"] = snap["torch"]
    np_state = snap.get("numpy")
    numpy = sys.modules.get("numpy")
    if numpy is not None and np_state is not None and len(np_state) >= 3 and np_state[2] == 624:
        # numpy.random.seed(n) for a 32-bit n starts its key with n itself: read, then verified
        candidate = int(np_state[1][0])
        if (numpy.random.RandomState(candidate).get_state()[1] == np_state[1]).all():
            found["numpy"] = candidate
    seed = _random_seed(snap.get("random"), tuple(dict.fromkeys(found.values())))
    if seed is not None:
        found["random"] = seed
    return dict(sorted(found.items()))


def param_seeds(params: dict[str, Any]) -> dict[str, int]:
    """Seeds logged as params: `seed`, `random_state`, `*_seed`... with an integer value."""
    found = {}
    for key, value in params.items():
        name = key.rsplit(".", 1)[-1].lower()
        if isinstance(value, int) and not isinstance(value, bool) and (name in _SEED_PARAMS or name.endswith("_seed")):
            found[f"params.{key}"] = value
    return found


# -- one run ----------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=64)
def _places(cwd: str, argv: tuple[str, ...], top: Path | None) -> tuple[str | None, bool, tuple[str, ...]]:
    """(the working directory relative to the repository's top, whether it is outside it, the portable
    argv): the same for every run a process opens, and each resolve walks the folders with an lstat."""
    rel_cwd, outside = None, False
    if top is not None:
        try:
            rel_cwd = Path(cwd).resolve().relative_to(top.resolve()).as_posix()
        except ValueError:
            outside = True
    return rel_cwd, outside, tuple(_portable_argv(list(argv), cwd, top))


def _portable_argv(argv: list[str], cwd: str, top: Path | None) -> list[str]:
    """Absolute paths inside the repository made relative to the working directory."""
    if top is None:
        return argv
    out_argv = []
    for arg in argv:
        if os.path.isabs(arg):
            try:
                Path(arg).resolve().relative_to(top.resolve())
            except (ValueError, OSError):
                pass
            else:
                arg = os.path.relpath(Path(arg).resolve(), Path(cwd).resolve())
        out_argv.append(arg)
    return out_argv


@dataclass
class Captured:
    info: CaptureInfo
    patch: bytes | None
    git: GitInfo | None  # a rerun's code is its worktree's, not the project root's
    reproduces: str | None


class RunCapture:
    """One run's capture: the snapshot now, the rest on the capture thread."""

    def __init__(self, root: Path):
        self.enabled = os.environ.get(ENABLED_ENV) != "0"
        self.reproduces = os.environ.get(REPRODUCES_ENV) or None
        # where the run's code lives: the project root, or the worktree of a rerun
        self.code_root = code_root = Path(os.environ.get(REPRODUCE_CODE_ENV) or root)
        self._opened = threading.Event()
        self._job: _Job | None = None
        self._inline = False
        if not self.enabled:
            return
        cwd = os.getcwd()
        argv = list(getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv])[1:]
        opened = self._opened
        build = lambda: self._build(opened, code_root, cwd, argv)  # noqa: E731
        self._inline = (os.getpid(), str(code_root)) in _code
        if self._inline:
            # git already ran in this process: what is left (the generators' states, a few paths) takes
            # less time than handing it to the capture thread and waiting for it there, which a run
            # that opens and ends at once (an Optuna trial's, written after the trial) would do
            self._job = _Job(build)
        else:
            self._job = submit(build)

    def opened(self) -> None:
        """The run is open: the capture may take the interpreter's time now (the Experiment calls this
        last in its constructor, so that the capture never competes with the run's start)."""
        self._opened.set()
        if self._inline and self._job is not None and not self._job.done.is_set():
            self._job.run()

    @staticmethod
    def _build(opened: threading.Event, code_root: Path, cwd: str, argv: list[str]) -> Captured:
        opened.wait(1.0)
        snap = _rng_snapshot()  # first, before the training loop draws from the generators
        try:
            state = code_state(code_root)
        except Exception as exc:  # best effort: a run never fails for its capture
            state = CodeState(problems=[f"code capture failed: {exc}"])
        problems = list(state.problems)
        rel_cwd, outside, portable = _places(cwd, tuple(argv), state.top)
        if outside:
            problems.append("the working directory is outside the repository")
        info = CaptureInfo(
            patch=PATCH_FILE if state.patch else None, patch_files=state.patch_files, untracked=state.untracked,
            left_out=state.left_out, max_file_bytes=MAX_FILE_BYTES, max_total_bytes=MAX_TOTAL_BYTES, cwd=rel_cwd,
            argv=list(portable), seeds=seeds_of(snap), on_remote=state.on_remote,
            problems=problems)
        git_info = None
        if os.environ.get(REPRODUCE_CODE_ENV):
            git_info = capture_git(code_root)
        return Captured(info=info, patch=state.patch, git=git_info, reproduces=os.environ.get(REPRODUCES_ENV))

    @property
    def ready(self) -> bool:
        return self._job is None or self._job.done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._job is None or self._job.done.wait(timeout)

    def result(self) -> Captured | None:
        if self._job is None or not self._job.done.is_set():
            return None
        return self._job.result if isinstance(self._job.result, Captured) else None


__all__ = ["MAX_FILE_BYTES", "MAX_TOTAL_BYTES", "PATCH_FILE", "Changes", "CodeState", "Captured", "RunCapture",
           "capture_code", "capture_git", "code_state", "param_seeds", "seeds_of", "start", "working_changes"]
