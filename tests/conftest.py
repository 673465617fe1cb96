"""Pytest hooks and fixtures: every test gets its own project folder and a clean environment. The helpers
and sample stores these fixtures use live in tests/fixtures.py; tests import them from there, never from here."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The checkout (this file stands alone: tests/fixtures.py is imported only inside the fixtures below).
REPO = Path(__file__).resolve().parent.parent

# Two test workers share the machine's cores. An OpenMP pool sized to every core (XGBoost, LightGBM,
# torch) spin-waits at each of its many small barriers while the other worker holds a core: the seed's
# sweep snippet (81 small XGBoost fits) took 4 s with one thread per pool, 30-50 s with two such runs side
# by side, and past 300 s in a loaded CI run. One thread per pool unless the caller set it; the
# subprocesses tests start inherit it.
os.environ.setdefault("OMP_NUM_THREADS", "1")


# -- the suite writes nothing into the checkout ------------------------------------------------------
# Caches that running Python and pytest make in any checkout (all in .gitignore): not the tests' writes.
_RUN_CACHES = {"__pycache__", ".pytest_cache", ".hypothesis", ".ruff_cache", ".mypy_cache"}
_CHECKOUT_KEY = pytest.StashKey["list[str] | None"]()


def checkout_state(repo: Path = REPO) -> list[str] | None:
    """`git status` of the checkout: tracked changes, every untracked file, and ignored paths (an ignored
    `.specweave/` or `demo-project/` made by a test counts too) less the run caches above; None when
    `repo` is not the top of a git checkout (an unpacked sdist, no git)."""
    try:
        top = subprocess.run(["git", "-C", str(repo), "rev-parse", "--show-toplevel"], capture_output=True,
                             text=True, timeout=30, check=False)
        if top.returncode != 0 or Path(top.stdout.strip()).resolve() != repo.resolve():
            return None
        done = subprocess.run(["git", "--no-optional-locks", "-C", str(repo), "status", "--porcelain", "-z",
                               "--untracked-files=all", "--ignored=matching"], capture_output=True, timeout=120,
                              check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    fields = done.stdout.decode("utf-8", "surrogateescape").split("\0")
    entries, i = [], 0
    while i < len(fields):
        entry, i = fields[i], i + 1
        if not entry:
            continue
        if entry[0] in "RC" and i < len(fields):  # a rename or copy: `XY new` then its old path
            entry, i = f"{entry} <- {fields[i]}", i + 1
        if not _RUN_CACHES & set(entry[3:].rstrip("/").split("/")):
            entries.append(entry)
    return sorted(entries)


# -- the suite writes nothing into the real HOME ------------------------------------------------------
# Libraries the tests drive keep caches and settings in HOME (matplotlib, wandb, keras, mlflow, chromium,
# pip, git): every test process, and every subprocess it starts, gets a HOME made for this run instead.
_REAL_HOME_KEY = pytest.StashKey["tuple[str | None, str] | None"]()


def pytest_configure(config: pytest.Config) -> None:
    import shutil
    import tempfile

    if os.environ.get("SPECWEAVE_TEST_REAL_HOME") == "1":
        return
    home = tempfile.mkdtemp(prefix="specweave-ml-test-home-")
    # Commits in clones (which have no repository config) need an identity, as a person's ~/.gitconfig gives.
    Path(home, ".gitconfig").write_text("[user]\n\tname = Test\n\temail = test@example.com\n"
                                        "[commit]\n\tgpgsign = false\n[init]\n\tdefaultBranch = main\n")
    config.stash[_REAL_HOME_KEY] = (os.environ.get("HOME"), home)
    os.environ["HOME"] = home
    for var in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        os.environ.pop(var, None)
    config.add_cleanup(lambda: shutil.rmtree(home, ignore_errors=True))


def pytest_unconfigure(config: pytest.Config) -> None:
    saved = config.stash.get(_REAL_HOME_KEY, None)
    if saved is not None and saved[0] is not None:
        os.environ["HOME"] = saved[0]


def pytest_sessionstart(session: pytest.Session) -> None:
    """Record the checkout's state. `SPECWEAVE_TEST_NO_CHECKOUT_CHECK=1` skips the check, for a working
    tree that people edit while the suite runs (their edits would read as the run's)."""
    if os.environ.get("SPECWEAVE_TEST_NO_CHECKOUT_CHECK") == "1":
        return
    if not hasattr(session.config, "workerinput"):  # the controller only, under xdist
        session.config.stash[_CHECKOUT_KEY] = checkout_state()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run (exit status 1) when the checkout's git status changed while it ran."""
    before = session.config.stash.get(_CHECKOUT_KEY, None)
    if before is None:
        return
    after = checkout_state()
    if after is None or after == before:
        return
    appeared = [e for e in after if e not in before]
    gone = [e for e in before if e not in after]
    lines = [f"  + {e}" for e in appeared[:20]] + [f"  - {e}" for e in gone[:20]]
    message = ("the test run changed the checkout (git status differs; tests must write under tmp_path; "
               "SPECWEAVE_TEST_NO_CHECKOUT_CHECK=1 skips this where people edit the tree meanwhile):\n"
               + "\n".join(lines))
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(message, red=True)
    else:
        sys.stderr.write(message + "\n")
    if session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may see the developer's own project or print the zero-config banner."""
    for var in ("SPECWEAVE_ROOT", "CLAUDE_PROJECT_DIR", "SPECWEAVE_TRACKING_URI", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SPECWEAVE_QUIET", "1")


@pytest.fixture(autouse=True)
def _reset_mlflow():
    """MLflow keeps its tracking URI and active run in globals: leave none behind for other tests."""
    yield
    mlflow = sys.modules.get("mlflow")  # only where a test loaded it: no import cost for the rest
    if mlflow is not None and hasattr(mlflow, "active_run"):
        while mlflow.active_run() is not None:
            mlflow.end_run()
        mlflow.set_tracking_uri(None)


@pytest.fixture(autouse=True)
def _end_leftover_runs():
    """A run a test leaves open (an Optuna sweep's parent ends only at exit) would count as open in the
    next test of the same worker process: end what this test opened and left, after it."""
    from skill.tracking.experiment import open_experiments

    before = {id(exp) for exp in open_experiments()}
    yield
    for exp in open_experiments():
        if id(exp) not in before:  # end() of a run already ended does nothing
            exp.end()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository with one commit, as the working directory."""
    from tests.fixtures import init_repo

    root = init_repo(tmp_path / "project")
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def sample(project: Path):
    """`sample(kind)`: tests/fixtures.py's sample store `kind` ("project", "views", ...) built in `project`."""
    from tests.fixtures import sample_store

    return lambda kind="project": sample_store(project, kind)


@pytest.fixture
def run_py():
    """Run Python code in a real subprocess with this checkout importable."""

    def run(code: str, cwd: Path, *, env: dict[str, str] | None = None, check: bool = True, timeout: float = 120):
        full_env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1", **(env or {})}
        done = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=full_env, capture_output=True,
                              text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(f"subprocess failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return done

    return run


@pytest.fixture(scope="session")
def ray_local(tmp_path_factory: pytest.TempPathFactory):
    """One local Ray cluster (two CPUs, no dashboard) for every Ray test: starting one is the slow part."""
    ray = pytest.importorskip("ray")
    home = os.environ.get("HOME")
    os.environ["HOME"] = str(tmp_path_factory.mktemp("ray-home"))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1"}})
    try:
        yield ray
    finally:
        ray.shutdown()
        if home is None:
            os.environ.pop("HOME", None)
        else:
            os.environ["HOME"] = home


@pytest.fixture
def browser() -> Iterator[object]:
    """Headless Debian chromium driven by Playwright (tests using it skip where CHROMIUM is None)."""
    from playwright.sync_api import sync_playwright

    from tests.fixtures import CHROMIUM

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM)
        try:
            yield chromium
        finally:
            chromium.close()
