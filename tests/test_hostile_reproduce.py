"""A cloned repository whose recorded runs try to make `sw-ml reproduce`, `sw-ml diff` and the terminal act.

Each test builds an origin with real git and a real tracked run, edits what the run recorded the way
anyone who can commit could (command, working folder, packages, patch path, names with escape
sequences, an interpreter under `.specweave/cache/`), commits, clones, and runs the real `sw-ml` (and
the MCP server over the official client) in the clone, with HOME, the cache folder and TMPDIR made for
the test. What must hold: nothing recorded runs without --yes or a "y", nothing runs outside the
worktree or with an interpreter the clone supplied, nothing but `name==version` reaches pip (a local
server proves no request was made), no process of the rerun outlives reproduce, no worktree is left
behind for long, no patch is read from outside its folder, and no control character reaches the terminal.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import pty
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
import yaml
from tests.fixtures import REPO, git, init_repo
from tests.repro_scenario import run_script


SECRET = "REPRO-OUTSIDE-SECRET-51c2"
JOB = '''\
from specweave import track_experiment

with track_experiment("job", increment="0001") as exp:
    exp.log_param("seed", 1)
    exp.log_metric("total", 6.0)
'''
# A rerun that starts a grandchild, says both pids, and waits: what must not outlive reproduce.
SLEEPER = '''\
import os, subprocess, sys, time
from pathlib import Path
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
Path(os.environ["HOSTILE_PIDS"]).write_text(f"{os.getpid()} {child.pid}\\n")
time.sleep(300)
'''
EVIL_PATCH = f"""\
diff --git a/leak.txt b/leak.txt
new file mode 100644
--- /dev/null
+++ b/leak.txt
@@ -0,0 +1 @@
+{SECRET}
"""
CONTROLS = ("\x1b", "\x07", "\x9b", "\r")


@dataclass
class World:
    clone: Path
    outside: Path
    home: Path
    tmp: Path  # TMPDIR of every sw-ml run: where reproduce's scratch folders go

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if k not in ("SPECWEAVE_ROOT", "CLAUDE_PROJECT_DIR") and not k.startswith(("PIP_", "UV_"))}
        return {**env, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1", "HOME": str(self.home),
                "XDG_CACHE_HOME": str(self.home / ".cache"), "TMPDIR": str(self.tmp), **extra}

    def sw(self, *args: str, stdin: Any = subprocess.DEVNULL, timeout: float = 300,
           **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "specweave.cli", *args], cwd=self.clone, env=self.env(**extra),
                              stdin=stdin, capture_output=True, text=True, timeout=timeout, check=False)

    def scratch_folders(self) -> list[str]:
        return sorted(p.name for p in self.tmp.iterdir() if p.name.startswith("specweave-reproduce-"))

    def worktrees(self) -> list[str]:
        return [line for line in git(self.clone, "worktree", "list", "--porcelain").splitlines()
                if line.startswith("worktree ")]


Edit = Callable[[int, dict[str, Any], Path, Path], None]


def make_world(tmp_path: Path, edit: Edit, runs: int = 1, before_run: Callable[[Path], None] | None = None) -> World:
    """An origin with `runs` real runs of JOB, each run's metadata changed by `edit(i, meta, folder,
    outside)`, committed and cloned."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET + "\n")
    (outside / "evil.patch").write_text(EVIL_PATCH)
    home, scratch = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    scratch.mkdir()
    origin = init_repo(tmp_path / "origin")
    (origin / "job.py").write_text(JOB)
    (origin / "sleeper.py").write_text(SLEEPER)
    if before_run:
        before_run(origin)
    git(origin, "add", "-A")
    git(origin, "commit", "-qm", "job")
    for _ in range(runs):
        run_script(origin, "job.py", HOME=str(home))
    folders = sorted((origin / ".specweave" / "increments").glob("*/experiments/exp-*"))
    assert len(folders) == runs
    for i, folder in enumerate(folders):
        path = folder / "metadata.yaml"
        meta = yaml.safe_load(path.read_text(encoding="utf-8"))
        edit(i, meta, folder, outside)
        path.write_text(yaml.safe_dump(meta, sort_keys=False, allow_unicode=True), encoding="utf-8")
    git(origin, "add", "-A", "--force", ".specweave")
    git(origin, "commit", "-qm", "results, edited by someone who can commit")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    return World(clone, outside, home, scratch)


def set_packages(meta: dict[str, Any], folder: Path, packages: dict[str, str]) -> None:
    """Give a run another package list, in a correctly named environment file (the hash matches)."""
    from skill.storage.environments import read_environment, write_environment

    store = folder.parents[3]
    fields = dict(read_environment(store, meta["environment"]))
    fields["packages"] = {**fields.get("packages", {}), **packages}
    meta["environment"] = write_environment(store, fields)


def one_line(done: subprocess.CompletedProcess, code: int, *words: str) -> None:
    assert done.returncode == code, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    for word in words:
        assert word in done.stderr, done.stderr


def gone(pid: int) -> bool:
    """No such process (a zombie that no one reaped yet counts as gone: it runs nothing)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return False


def wait_for(check: Callable[[], bool], what: str, limit: float = 60) -> None:
    """A liveness wait, not a timing assertion: the limit only keeps a failing test from hanging."""
    end = time.monotonic() + limit
    while not check():
        assert time.monotonic() < end, f"still waiting for {what}"
        time.sleep(0.1)


# -- nothing recorded runs unasked ------------------------------------------------------------------
def test_a_recorded_command_runs_only_after_yes(tmp_path: Path) -> None:
    marker = tmp_path / "outside" / "ran"

    def edit(i: int, meta: dict, folder: Path, outside: Path) -> None:
        meta["capture"]["argv"] = ["-c", f"open({str(marker)!r}, 'w').write('ran')"]

    world = make_world(tmp_path, edit)
    # stdin is not a terminal and no --yes: refused in one line, after the plan's own checks
    one_line(world.sw("reproduce", "exp-001"), 7, "--yes", "--dry-run")
    assert not marker.exists()
    # a terminal answering "n": the plan is shown, nothing runs
    master, slave = pty.openpty()
    try:
        os.write(master, b"n\n")
        done = subprocess.run([sys.executable, "-m", "specweave.cli", "reproduce", "exp-001"], cwd=world.clone,
                              env=world.env(), stdin=slave, capture_output=True, text=True, timeout=300)
    finally:
        os.close(slave)
        os.close(master)
    assert done.returncode == 7 and "not confirmed" in done.stderr, done.stderr
    assert "run:       " in done.stderr and " -c " in done.stderr and "[y/N]" in done.stderr
    assert not marker.exists()
    # the control: asked for, it does run (so the checks above can fail)
    done = world.sw("reproduce", "exp-001", "--yes")
    assert marker.read_text() == "ran", done.stdout + done.stderr
    assert world.worktrees() == [f"worktree {world.clone}"] and world.scratch_folders() == []


def test_a_working_folder_outside_the_worktree_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "outside" / "ran"
    code = f"import os; open({str(marker)!r}, 'w').write(os.getcwd())"
    cwds = [str(tmp_path / "outside"), "../outside", "sub/../../outside", "linked"]

    def link_out(origin: Path) -> None:  # a link in the run's own commit, leading out of any checkout
        (origin / "linked").symlink_to(tmp_path / "outside", target_is_directory=True)

    def edit(i: int, meta: dict, folder: Path, outside: Path) -> None:
        meta["capture"]["argv"], meta["capture"]["cwd"] = ["-c", code], cwds[i]

    world = make_world(tmp_path, edit, runs=len(cwds), before_run=link_out)
    for n in (1, 2, 3):
        one_line(world.sw("reproduce", f"exp-00{n}", "--dry-run"), 7, "working folder", "refused")
        one_line(world.sw("reproduce", f"exp-00{n}", "--yes"), 7, "working folder", "refused")
    one_line(world.sw("reproduce", "exp-004", "--yes", "--quiet"), 7, "through a link", "refused")
    assert not marker.exists()
    assert world.worktrees() == [f"worktree {world.clone}"] and world.scratch_folders() == []


@pytest.mark.slow  # builds a virtual environment
def test_a_committed_cache_interpreter_is_never_used(tmp_path: Path) -> None:
    marker = tmp_path / "outside" / "ran"

    def edit(i: int, meta: dict, folder: Path, outside: Path) -> None:
        set_packages(meta, folder, {"specweave-hostile-missing": "1.0"})
        # where the tracker used to look for an environment "built earlier": committed by the clone
        from skill.storage.environments import read_environment

        packages = read_environment(folder.parents[3], meta["environment"])["packages"]
        recorded = {k: v for k, v in packages.items() if k not in ("pip", "setuptools", "wheel", "uv", "distribute")}
        want = ".".join(sys.version.split()[0].split(".")[:2])
        key = hashlib.sha256(json.dumps([want, sorted(recorded.items())]).encode()).hexdigest()[:16]
        env = folder.parents[3] / "cache" / "envs" / key
        (env / "bin").mkdir(parents=True)
        (env / "bin" / "python").write_text(f"#!/bin/sh\necho ran > '{marker}'\n")
        (env / "bin" / "python").chmod(0o755)
        (env / "packages.json").write_text(json.dumps(recorded))

    world = make_world(tmp_path, edit)
    assert list((world.clone / ".specweave" / "cache" / "envs").glob("*/bin/python"))  # it came with the clone
    plan = json.loads(world.sw("reproduce", "exp-001", "--dry-run", "--json").stdout)
    assert plan["environment"] == "create"
    assert plan["python"].startswith(str(world.home / ".cache" / "specweave-ml" / "envs"))
    with index_server() as requests:  # any pip run goes to this dead index and fails there
        done = world.sw("reproduce", "exp-001", "--yes", "--quiet", PIP_INDEX_URL=requests.url)
    one_line(done, 7, "building its environment failed")
    assert not marker.exists()


# -- packages reach pip only as name==version -------------------------------------------------------
@dataclass
class Requests:
    url: str
    seen: list[str]


@pytest.fixture
def server() -> Iterator[Requests]:
    with index_server() as requests:
        yield requests


class _Index(http.server.BaseHTTPRequestHandler):
    seen: list[str]

    def do_GET(self) -> None:  # noqa: N802
        self.seen.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class index_server:  # noqa: N801 - used as a context manager
    def __enter__(self) -> Requests:
        seen: list[str] = []
        handler = type("Handler", (_Index,), {"seen": seen})
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return Requests(f"http://127.0.0.1:{self.httpd.server_address[1]}/simple/", seen)

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_hostile_package_specs_are_refused_before_pip_runs(tmp_path: Path, server: Requests) -> None:
    hostile = [(f"--index-url={server.url}", "1.0"), ("evil @ file:///tmp/evil.whl", "1.0"),
               ("evil", f"1.0 --extra-index-url {server.url}")]

    def edit(i: int, meta: dict, folder: Path, outside: Path) -> None:
        set_packages(meta, folder, dict([hostile[i]]))

    world = make_world(tmp_path, edit, runs=len(hostile))
    one_line(world.sw("reproduce", "exp-001", "--dry-run"), 7, "not a plain name==version pin")
    for n in range(1, len(hostile) + 1):
        # PIP_INDEX_URL too: if pip ran at all, the server would see it
        one_line(world.sw("reproduce", f"exp-00{n}", "--yes", PIP_INDEX_URL=server.url), 7, "not a plain")
    assert server.seen == []
    assert not (world.home / ".cache" / "specweave-ml" / "envs").exists()  # no environment was built


# -- no process outlives reproduce, no worktree is left for long ------------------------------------
def _start_sleeper(tmp_path: Path) -> tuple[World, subprocess.Popen, list[int], Path]:
    def edit(i: int, meta: dict, folder: Path, outside: Path) -> None:
        meta["capture"]["argv"] = ["sleeper.py"]

    world = make_world(tmp_path, edit)
    pids_file = world.outside / "pids"
    proc = subprocess.Popen([sys.executable, "-m", "specweave.cli", "reproduce", "exp-001", "--yes"], cwd=world.clone,
                            env=world.env(HOSTILE_PIDS=str(pids_file)), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: pids_file.exists() and pids_file.read_text().endswith("\n") or proc.poll() is not None,
             "the rerun to start", limit=120)
    assert proc.poll() is None, proc.communicate()
    pids = [int(p) for p in pids_file.read_text().split()]
    assert len(pids) == 2 and not any(gone(p) for p in pids)
    return world, proc, pids, pids_file


@pytest.mark.slow
def test_sigkill_of_reproduce_kills_the_rerun_and_the_next_start_prunes(tmp_path: Path) -> None:
    world, proc, pids, pids_file = _start_sleeper(tmp_path)
    assert len(world.worktrees()) == 2 and len(world.scratch_folders()) == 1
    proc.kill()  # SIGKILL: no handler of reproduce runs
    proc.communicate()
    wait_for(lambda: all(gone(p) for p in pids), "the rerun and its child to die with reproduce")
    stale = world.scratch_folders()
    assert len(stale) == 1 and len(world.worktrees()) == 2  # left behind: only a later start can clean it
    pids_file.unlink()
    done = world.sw("reproduce", "exp-001", "--yes", "--quiet", "--timeout", "3", HOSTILE_PIDS=str(pids_file))
    assert done.returncode == 8 and "ran past 3 s" in done.stdout, done.stdout + done.stderr
    assert all(gone(int(p)) for p in pids_file.read_text().split())
    assert world.scratch_folders() == [] and world.worktrees() == [f"worktree {world.clone}"]


def test_sigterm_of_reproduce_stops_the_rerun_and_cleans_up(tmp_path: Path) -> None:
    world, proc, pids, _ = _start_sleeper(tmp_path)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and "Traceback" not in err, err
    assert all(gone(p) for p in pids)  # stopped before reproduce returned, not later
    assert world.scratch_folders() == [] and world.worktrees() == [f"worktree {world.clone}"]


# -- diff reads no patch from outside ---------------------------------------------------------------
def test_diff_never_reads_a_patch_outside_its_folder(tmp_path: Path) -> None:
    """exp-002, exp-003, exp-004: a patch path with `..`, an absolute one, one through a link."""
    from mcp import Client

    from mcp_server.server import build_server

    def edit(i: int, meta: dict, folder: Path, outside: Path) -> None:
        if i == 0:
            return
        meta["git"]["dirty"] = True
        up = "/".join([".."] * (len(folder.relative_to(tmp_path).parts)))  # from the folder to tmp_path
        meta["capture"]["patch"] = [f"{up}/outside/evil.patch", str(outside / "evil.patch"), "code.patch"][i - 1]
        if i == 3:
            (folder / "code.patch").symlink_to(outside / "evil.patch")

    world = make_world(tmp_path, edit, runs=4)
    for other in ("exp-002", "exp-003", "exp-004"):
        done = world.sw("diff", "exp-001", other)
        assert done.returncode == 0, done.stderr
        assert SECRET not in done.stdout + done.stderr
        assert "not read" in done.stdout
    done = world.sw("diff", "exp-001", "exp-002", "--json")
    assert SECRET not in done.stdout and "not read" in done.stdout
    one_line(world.sw("reproduce", "exp-002", "--dry-run"), 7, "not a file name inside its folder")

    async def go() -> list[Any]:
        out = []
        for read_only in (True, False):
            async with Client(build_server(world.clone, read_only=read_only)) as client:
                for other in ("exp-002", "exp-003", "exp-004"):
                    out.append(await client.call_tool("diff_experiments", {"a": "exp-001", "b": other}))
        return out

    for result in anyio.run(go):
        assert not result.is_error
        dumped = json.dumps([c.model_dump(mode="json") for c in result.content]) + json.dumps(result.structured_content)
        assert SECRET not in dumped
        assert any("not read" in p for p in result.structured_content["code"]["problems"])


# -- nothing printed drives the terminal ------------------------------------------------------------
NAME = "job\x1b]0;window title\x07\x1b[2J"
NOTE = "\x1b]52;c;cHduZWQ=\x07 \x1b]8;;http://evil.example/\x07click\x1b]8;;\x07 \x9b2J"
COMMAND = ["-c", "import os  # \x1b[2K\rpython train.py"]
PACKAGE = "evil\x1b[2Jpkg"


def test_control_characters_are_printed_escaped(tmp_path: Path) -> None:
    def edit(i: int, meta: dict, folder: Path, outside: Path) -> None:
        meta["name"], meta["description"] = NAME, NOTE
        meta["notes"] = [{"ts": "2026-01-01T00:00:00Z", "text": NOTE}]
        meta["capture"]["argv"] = COMMAND
        if i == 1:
            set_packages(meta, folder, {PACKAGE: "1.0"})

    world = make_world(tmp_path, edit, runs=2)
    outputs = {}
    for args in (["show-experiment", "exp-001"], ["list-experiments"], ["compare-experiments", "--no-write"],
                 ["reproduce", "exp-001", "--dry-run"], ["diff", "exp-001", "exp-002"], ["history", "exp-001"],
                 ["reproduce", "exp-002", "--dry-run"], ["show-experiment", NAME], ["add-note", "exp-001", NOTE]):
        done = world.sw(*args)
        outputs[" ".join(args[:2])] = done.stdout + done.stderr
        for char in CONTROLS:
            assert char not in done.stdout + done.stderr, (args, done.stdout + done.stderr)
    assert "job\\x1b]0;window title\\x07\\x1b[2J" in outputs["show-experiment exp-001"]
    assert "\\x1b]52;c;" in outputs["show-experiment exp-001"] and "\\u009b2J" in outputs["show-experiment exp-001"]
    assert "$'import os  # \\x1b[2K\\rpython train.py'" in outputs["reproduce exp-001"]  # what runs, on one line
    assert "evil\\x1b[2Jpkg" in outputs["diff exp-001"] and "evil\\x1b[2Jpkg" in outputs["reproduce exp-002"]
    # --json: valid JSON holding the exact values
    shown = json.loads(world.sw("show-experiment", "exp-001", "--json").stdout)
    assert shown["name"] == NAME and shown["meta"]["notes"][0]["text"] == NOTE
    assert json.loads(world.sw("diff", "exp-001", "exp-002", "--json").stdout)["packages"]["added"] == {PACKAGE: "1.0"}

    async def go() -> Any:
        from mcp import Client

        from mcp_server.server import build_server

        async with Client(build_server(world.clone, read_only=True)) as client:
            return await client.call_tool("show_experiment", {"experiment": "exp-001"})

    result = anyio.run(go)
    text = result.content[0].text
    assert not any(char in text for char in CONTROLS) and "\\x1b]0;window title" in text
    assert result.structured_content["name"] == NAME  # the structured content keeps the exact value


# -- bad input is one line --------------------------------------------------------------------------
def test_a_busy_port_is_refused_before_any_url_or_token(tmp_path: Path) -> None:
    world = World(init_repo(tmp_path / "project"), tmp_path, tmp_path, tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        done = world.sw("serve", "--transport", "http", "--port", port, timeout=60)
    one_line(done, 2, port)
    assert "http://" not in done.stderr and "token" not in done.stderr.lower()
    one_line(world.sw("serve", "--transport", "http", "--port", "99999", timeout=60), 2, "99999")


def test_bad_input_answers_in_one_line(tmp_path: Path) -> None:
    world = make_world(tmp_path, lambda *a: None)
    one_line(world.sw("reproduce", "exp-001", "--yes", "--timeout", "-1"), 2, "timeout")
    one_line(world.sw("reproduce", "exp-001", "--yes", "--timeout", "nan"), 2, "timeout")
    done = subprocess.run([sys.executable, "-m", "specweave.cli", "history", "exp-001", b"total\xff"], cwd=world.clone,
                          env=world.env(), capture_output=True, timeout=120)
    assert done.returncode == 2 and done.stderr.count(b"\n") == 1 and b"Traceback" not in done.stderr, done.stderr
    assert world.worktrees() == [f"worktree {world.clone}"]
