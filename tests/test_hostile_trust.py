"""What a cloned repository can and cannot make the tool do: each attack built in a real clone (git commit,
clone, pull), run through the Python API, the `sw-ml` CLI and the MCP server, and checked from outside:
the sha256 of every file of a sibling folder and of a HOME made for the test, before and after.

The README's "What a cloned repository can and cannot make this tool do" is the model these tests hold.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
import yaml
from mcp import Client
from tests.fixtures import INC, REPO, SECRET, git, init_repo, replace_with_link, sample_store, snapshot

from mcp_server.server import build_server

PY = sys.executable


def _env(home: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1", "HOME": str(home),
           "XDG_CONFIG_HOME": str(home / ".config")}
    for var in ("SPECWEAVE_ROOT", "CLAUDE_PROJECT_DIR", "SPECWEAVE_REMOTE"):
        env.pop(var, None)
    return env


def sw_in(clone: Path, home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([PY, "-m", "specweave.cli", *args], cwd=clone, env=_env(home), capture_output=True,
                          text=True, timeout=180, check=False, input=stdin)
    assert "Traceback" not in done.stderr, (args, done.stderr)
    return done


def py_in(clone: Path, home: Path, code: str) -> subprocess.CompletedProcess:
    """The Python API in a fresh interpreter, as a training script runs it."""
    done = subprocess.run([PY, "-c", code], cwd=clone, env=_env(home), capture_output=True, text=True,
                          timeout=180, check=False)
    assert "Traceback" not in done.stderr or "SpecweaveError" in done.stderr or "DamagedFile" in done.stderr \
        or "UnsafePath" in done.stderr, done.stderr
    return done


def mcp_in(clone: Path, calls: list[tuple[str, dict[str, Any]]]) -> list[str]:
    async def go() -> list[str]:
        out = []
        async with Client(build_server(clone)) as client:
            for name, args in calls:
                result = await client.call_tool(name, args)
                out.append(json.dumps(result.structured_content) + "".join(getattr(c, "text", "")
                                                                            for c in result.content))
        return out

    return anyio.run(go)


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Path]:
    """An origin with experiments logged through the real tracker, a sibling folder, a HOME of its own."""
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    (home / ".bashrc").write_text("# the victim's own file\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(f"{SECRET}\n")
    origin = init_repo(tmp_path / "origin")
    git(origin, "config", "receive.denyCurrentBranch", "ignore")
    sample_store(origin, "project")
    git(origin, "add", "-A")
    git(origin, "commit", "-qm", "experiments")
    return {"tmp": tmp_path, "home": home, "outside": outside, "origin": origin}


def commit_and_clone(world: dict[str, Path], message: str, *, force: bool = True) -> Path:
    """Commit everything (`force`: git-ignored paths too, as a hostile committer can) and clone."""
    origin = world["origin"]
    git(origin, "add", "-A", *(["--force"] if force else []))
    git(origin, "commit", "-qm", message)
    clone = world["tmp"] / "clone"
    git(world["tmp"], "clone", "-q", str(origin), str(clone))
    git(clone, "config", "user.email", "victim@example.com")
    git(clone, "config", "user.name", "victim")
    return clone


# -- 1. the merge driver never decides for a path it is not registered for ---------------------------------
def test_a_hostile_gitattributes_cannot_make_the_merge_driver_drop_a_change(world: dict[str, Path]) -> None:
    origin, home = world["origin"], world["home"]
    (origin / "train.py").write_text("lr = 0.1\nepochs = 10\n\n\n\nbatch = 32\n")
    clone = commit_and_clone(world, "train.py")
    assert sw_in(clone, home, "init", "--no-skill").returncode == 0  # registers the driver in this clone
    # the attacker's commit: every .py file (and every metadata.yaml) "merged" by the derived-files driver
    (origin / ".gitattributes").write_text("*.py merge=specweave-derived\n**/metadata.yaml merge=specweave-derived\n")
    (origin / "eval.py").write_text("a = 1\nb = 2\n\n\n\nc = 3\n")
    git(origin, "add", "-A")
    git(origin, "commit", "-qm", "attributes")
    git(clone, "pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
    # both sides change the same line of train.py, and different lines of eval.py
    (origin / "train.py").write_text("lr = 0.5\nepochs = 10\n\n\n\nbatch = 32\n")
    (origin / "eval.py").write_text("a = 100\nb = 2\n\n\n\nc = 3\n")
    git(origin, "commit", "-qam", "upstream")
    (clone / "train.py").write_text("lr = 0.01\nepochs = 10\n\n\n\nbatch = 32\n")
    (clone / "eval.py").write_text("a = 1\nb = 2\n\n\n\nc = 300\n")
    git(clone, "commit", "-qam", "mine")
    env = {**_env(home), "GIT_MERGE_AUTOEDIT": "no"}
    pulled = subprocess.run(["git", "pull", "--no-rebase", "--no-edit", "origin", "main"], cwd=clone, env=env,
                            capture_output=True, text=True, check=False)
    assert pulled.returncode != 0, pulled.stdout + pulled.stderr
    assert "CONFLICT" in pulled.stdout + pulled.stderr
    assert git(clone, "diff", "--name-only", "--diff-filter=U").split() == ["train.py"]
    text = (clone / "train.py").read_text()
    assert "<<<<<<<" in text and "lr = 0.5" in text and "lr = 0.01" in text
    # the change that does not conflict is merged as git merges it: both sides kept
    assert (clone / "eval.py").read_text() == "a = 100\nb = 2\n\n\n\nc = 300\n"


def test_the_merge_driver_is_git_merge_file_for_other_paths(tmp_path: Path) -> None:
    base, ours, theirs = (tmp_path / n for n in ("base", "ours", "theirs"))
    base.write_text("one\ntwo\n")
    ours.write_text("one\nmine\n")
    theirs.write_text("one\ntheirs\n")
    expected = subprocess.run(["git", "merge-file", "-p", "-L", "ours:src/a.py", "-L", "base:src/a.py", "-L",
                               "theirs:src/a.py", str(ours), str(base), str(theirs)], capture_output=True,
                              text=True, check=False).stdout
    done = subprocess.run([PY, "-m", "specweave.merge_driver", str(base), str(ours), str(theirs), "src/a.py"],
                          env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert ours.read_text() == expected and "<<<<<<< ours:src/a.py" in expected


# -- 4. no link anywhere on the path, no file shared by hard links -----------------------------------------
def _exp(root: Path, inc: str, number: int) -> Path:
    return next((root / ".specweave/increments" / inc / "experiments").glob(f"exp-{number:03d}-*"))


NEW_RUN = ("from specweave import track_experiment\n"
           "from skill.errors import SpecweaveError\n"
           "try:\n"
           "    with track_experiment('intruded', increment={inc!r}) as exp:\n"
           "        exp.log_metric('accuracy', 0.9)\n"
           "    print('WROTE', exp.path)\n"
           "except SpecweaveError as exc:\n"
           "    print('REFUSED', exc)\n")

WRITES = [["list-experiments", INC], ["add-note", "exp-003", "a note", "--increment", INC],
          ["compare-experiments", INC], ["log-decision", "exp-002", "--rationale", "best", "--increment", INC],
          ["sync-docs"], ["tag", "exp-002", "checked", "--increment", INC]]
MCP_WRITES = [("list_experiments", {"increment": INC}),
              ("add_note", {"experiment": "exp-003", "text": "n", "increment": INC}),
              ("compare_experiments", {"increment": INC}),
              ("log_decision", {"selected": "exp-004", "rationale": "r", "increment": INC}),
              ("sync_living_docs", {})]


def every_face(clone: Path, home: Path, inc: str = INC) -> list[str]:
    answers = [(done := sw_in(clone, home, *args)).stdout + done.stderr for args in WRITES]
    answers.append(py_in(clone, home, NEW_RUN.format(inc=inc)).stdout)
    try:
        answers += mcp_in(clone, MCP_WRITES)
    except Exception as exc:  # a server that refuses the store at start is fine; a leak is not
        answers.append(str(exc))
    return answers


@pytest.mark.parametrize("linked", [("cache",), ("cache/locks", "cache/claims", "cache/index"), ("cache/tmp",)],
                         ids=["cache", "locks-claims-index", "tmp"])
def test_a_linked_cache_folder_is_never_written_through(world: dict[str, Path], linked: tuple[str, ...]) -> None:
    origin, outside = world["origin"], world["outside"]
    store = origin / ".specweave"
    (store / "cache").mkdir(exist_ok=True)
    (store / "cache" / "keep").write_text("x")  # so git carries the folder when a part below it is the link
    for part in linked:
        target = outside / part.replace("/", "-")
        (target / "locks").mkdir(parents=True)
        (target / "kept.txt").write_text("theirs\n")
        replace_with_link(store / part, target)
    clone = commit_and_clone(world, f"{linked} as links")
    assert all((clone / ".specweave" / part).is_symlink() for part in linked)
    before = snapshot(world["tmp"], clone)
    answers = every_face(clone, world["home"])
    assert changed(before, snapshot(world["tmp"], clone)) == []
    assert any("exp-004" in a for a in answers)  # reads still answer
    assert any("symbolic link" in a for a in answers)  # writes say why they refused


def test_a_linked_lock_file_creates_nothing(world: dict[str, Path]) -> None:
    from skill.storage.locks import lock_path

    origin, outside = world["origin"], world["outside"]
    # The locks of both files a note can go to: metadata.yaml (a running run) and edits.jsonl (a finished one).
    for name in ("metadata.yaml", "edits.jsonl"):
        lock = lock_path(_exp(origin, INC, 3) / name)
        lock.parent.mkdir(parents=True, exist_ok=True)
        lock.unlink(missing_ok=True)
        lock.symlink_to(outside / "planted-by-a-lock")  # dangling: O_CREAT through it would make the file
    clone = commit_and_clone(world, "a linked lock")
    before = snapshot(world["tmp"], clone)
    done = sw_in(clone, world["home"], "add-note", "exp-003", "a note", "--increment", INC)
    assert done.returncode != 0 and "symbolic link" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (outside / "planted-by-a-lock").exists()
    assert changed(before, snapshot(world["tmp"], clone)) == []


def test_a_linked_experiments_folder_takes_no_new_run(world: dict[str, Path]) -> None:
    origin, outside = world["origin"], world["outside"]
    (outside / "runs").mkdir()
    inc = origin / ".specweave/increments/0045-linked"
    inc.mkdir()
    (inc / "spec.md").write_text("# linked\n")
    (inc / "experiments").symlink_to(outside / "runs", target_is_directory=True)
    clone = commit_and_clone(world, "linked experiments")
    before = snapshot(world["tmp"], clone)
    done = py_in(clone, world["home"], NEW_RUN.format(inc="0045-linked"))
    assert done.stdout.startswith("REFUSED") and "symbolic link" in done.stdout, done.stdout + done.stderr
    assert list((outside / "runs").iterdir()) == []
    assert changed(before, snapshot(world["tmp"], clone)) == []


def test_a_linked_store_is_neither_read_nor_written(world: dict[str, Path]) -> None:
    from skill.tracking.track import track_experiment

    other = init_repo(world["outside"] / "other-project")
    with track_experiment("their-secret", increment=INC, root=other) as exp:
        exp.log_param("key", SECRET)
        exp.log_note(SECRET)
    origin = world["origin"]
    replace_with_link(origin / ".specweave", other / ".specweave")
    clone = commit_and_clone(world, ".specweave as a link")
    assert (clone / ".specweave").is_symlink()
    home = world["home"]
    before = snapshot(world["tmp"], clone)
    answers = every_face(clone, home)
    for args in (["show-experiment", "exp-001", "--increment", INC], ["export-experiments", INC, "--format", "json"],
                 ["list-increments"]):
        done = sw_in(clone, home, *args)
        assert done.returncode != 0 and len(done.stderr.strip().splitlines()) == 1, done.stderr
        answers.append(done.stdout + done.stderr)
    assert changed(before, snapshot(world["tmp"], clone)) == []
    assert not [a for a in answers if SECRET in a]
    assert all("symbolic link" in a or "REFUSED" in a for a in answers), answers


def test_hard_linked_files_are_neither_appended_to_nor_shown(world: dict[str, Path]) -> None:
    clone = commit_and_clone(world, "clean")
    outside, home = world["outside"], world["home"]
    # a hard link cannot travel by git; an unpacked archive or a copy with `cp -l` makes one
    decisions = clone / ".specweave/increments" / INC / "experiments" / "decisions.jsonl"
    os.link(outside / "secret.txt", decisions)
    (outside / "params.json").write_text(json.dumps({"leak": SECRET}))
    params = _exp(clone, INC, 1) / "params.json"
    params.unlink()
    os.link(outside / "params.json", params)
    before = snapshot(world["tmp"], clone)
    done = sw_in(clone, home, "log-decision", "exp-002", "--rationale", "best", "--increment", INC)
    assert done.returncode != 0 and "hard link" in done.stderr, done.stdout + done.stderr
    shown = sw_in(clone, home, "show-experiment", "exp-001", "--increment", INC)
    answers = [shown.stdout + shown.stderr, *mcp_in(clone, [("show_experiment", {"experiment": "exp-001",
                                                                                   "increment": INC})])]
    assert not [a for a in answers if SECRET in a]
    assert "hard link" in answers[0]
    assert changed(before, snapshot(world["tmp"], clone)) == []


# -- 6. content named by a hash is checked ----------------------------------------------------------------
def test_an_edited_environment_file_is_damage_and_never_adopted(world: dict[str, Path]) -> None:
    origin, home = world["origin"], world["home"]
    env_file = next((origin / ".specweave/environments").glob("*.yaml"))
    text = env_file.read_text()
    assert "\npackages:\n" in text
    env_file.write_text(text.replace("\npackages:\n", "\npackages:\n  evil-package: 6.6.6\n", 1))
    clone = commit_and_clone(world, "a poisoned environment")
    shown = sw_in(clone, home, "show-experiment", "exp-001", "--increment", INC, "--json")
    assert "evil-package" not in shown.stdout
    assert "does not match the hash" in shown.stdout
    # the victim's next run, in the same environment, names the file by the same hash: it is rewritten true
    done = py_in(clone, home, NEW_RUN.format(inc=INC))
    assert done.stdout.startswith("WROTE"), done.stdout + done.stderr
    written = yaml.safe_load((Path(done.stdout.split(None, 1)[1].strip()) / "metadata.yaml").read_text())
    if written["environment"] == env_file.stem:  # the same environment: its file is written true again
        assert "evil-package" not in (clone / ".specweave/environments" / env_file.name).read_text()
    # (another environment, the victim's own, has a file of its own, and the poisoned one stays flagged)
    new = sw_in(clone, home, "show-experiment", "intruded", "--increment", INC, "--json")
    assert "evil-package" not in new.stdout and new.returncode == 0


def test_an_oversized_environment_file_costs_nothing_to_read(world: dict[str, Path]) -> None:
    origin = world["origin"]
    env_file = next((origin / ".specweave/environments").glob("*.yaml"))
    big = env_file.read_text() + "".join(f"  pkg{i:07d}: 1.0.{i}\n" for i in range(500_000))  # ~12 MB
    env_file.write_text(big)
    assert env_file.stat().st_size > 10 << 20
    clone = commit_and_clone(world, "a huge environment")
    from skill.project import Project

    record = Project(clone).experiment("exp-001", INC)
    assert any("too large" in p for p in record.problems), record.problems
    assert record.meta is not None and not record.meta.packages


def _objects_world(world: dict[str, Path]) -> tuple[Path, str, Path]:
    """The origin with a model in the object store, pushed to a remote folder; the model's sha256."""
    from skill.project import Project
    from skill.tracking.track import track_experiment

    origin = world["origin"]
    with track_experiment("with-model", increment=INC, root=origin) as exp:
        exp.log_metric("accuracy", 0.9)
        sha = exp.save_model({"weights": list(range(100))}).sha256
    remote = world["tmp"] / "remote"
    Project(origin).push_artifacts(to=str(remote))
    return origin, sha, remote


def test_objects_are_compared_by_hash_both_ways(world: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from skill.project import Project
    from skill.storage.objects import object_key, object_path

    monkeypatch.setenv("XDG_CONFIG_HOME", str(world["home"] / ".config"))
    origin, sha, remote = _objects_world(world)
    good = object_path(origin / ".specweave", sha).read_bytes()
    poisoned = bytes([good[0] ^ 0xFF]) + good[1:]  # the same size, other bytes
    (remote / object_key(sha)).chmod(0o644)
    (remote / object_key(sha)).write_bytes(poisoned)
    clone = commit_and_clone(world, "a model", force=False)
    pulled = Project(clone).pull_artifacts(source=str(remote))  # the runs' point logs come; the model does not
    assert len(pulled.refused) == 1 and "sha256" in pulled.refused[0]
    assert not object_path(clone / ".specweave", sha).exists()
    # a good clone's push repairs the poisoned remote (sizes are equal: the hash decides)
    repaired = Project(origin).push_artifacts(to=str(remote))
    assert repaired.copied == 1 and not repaired.refused, repaired  # only the poisoned copy was sent again
    assert (remote / object_key(sha)).read_bytes() == good
    assert Project(clone).pull_artifacts(source=str(remote)).copied == 1
    # a clone whose own copy is damaged at the same size: push refuses to send it, pull replaces it
    local = object_path(clone / ".specweave", sha)
    local.chmod(0o644)
    local.write_bytes(poisoned)
    other = world["tmp"] / "remote2"
    pushed = Project(clone).push_artifacts(to=str(other))
    assert len(pushed.refused) == 1 and "does not hash to its name" in pushed.refused[0]
    assert not (other / object_key(sha)).exists()
    assert Project(clone).pull_artifacts(source=str(remote)).copied == 1
    assert local.read_bytes() == good


def test_one_malformed_object_record_is_one_damaged_line(world: dict[str, Path],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from skill.storage.objects import object_path

    monkeypatch.setenv("XDG_CONFIG_HOME", str(world["home"] / ".config"))
    origin, sha, remote = _objects_world(world)
    meta = _exp(origin, INC, 1) / "metadata.yaml"
    text = meta.read_text()
    assert "artifacts: []" in text or "artifacts:" not in text
    fake = ("artifacts:\n- name: model.pkl\n  kind: model\n  size: 10\n  sha256: ../../../etc/passwd\n"
            "  format: pickle\n  stored: objects\n")
    meta.write_text(text.replace("artifacts: []\n", fake) if "artifacts: []" in text else text + fake)
    clone = commit_and_clone(world, "one bad record", force=False)
    home = world["home"]
    status = sw_in(clone, home, "artifacts", "status")
    assert "etc/passwd" in status.stdout and "not 64 hexadecimal digits" in status.stdout, status.stdout + status.stderr
    pulled = sw_in(clone, home, "artifacts", "pull", "--from", str(remote))
    assert pulled.returncode == 1, pulled.stdout + pulled.stderr  # one refused line; the good model came
    assert pulled.stdout.startswith("pulled ") and pulled.stdout.count("refused:") == 1
    assert object_path(clone / ".specweave", sha).exists()  # the good model came all the same


# -- 7. I/O destinations come from the user ---------------------------------------------------------------
@pytest.mark.parametrize("remote", ["../exfil", "~/exfil", "{outside}/exfil", "simplecache::file://{outside}/exfil",
                                    "reference://", "http://127.0.0.1:9/objects", "memory://x"])
def test_a_cloned_ml_yaml_decides_no_destination(world: dict[str, Path], remote: str) -> None:
    origin, home, outside = world["origin"], world["home"], world["outside"]
    from skill.tracking.track import track_experiment

    with track_experiment("with-model", increment=INC, root=origin) as exp:
        exp.save_model({"weights": [1, 2, 3]})
    remote = remote.format(outside=outside)
    (origin / ".specweave/ml.yaml").write_text(
        f"artifacts:\n  remote: '{remote}'\n  storage_options:\n    cache_storage: {outside}/cache\n"
        if "simplecache" in remote else f"artifacts:\n  remote: '{remote}'\n")
    clone = commit_and_clone(world, "the team's remote")
    (home / "exfil").mkdir()
    before = snapshot(world["tmp"], clone)
    for args in (["artifacts", "push"], ["artifacts", "pull", "--json"]):
        done = sw_in(clone, home, *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        line = done.stderr.strip()
        assert len(line.splitlines()) == 1 and "pushed" not in done.stdout
        assert "allow-remote" in line or "expected" in line
    assert changed(before, snapshot(world["tmp"], clone)) == []


def test_a_confirmed_remote_is_used_and_a_changed_one_asks_again(world: dict[str, Path]) -> None:
    from skill.project import Project
    from skill.storage.objects import object_key

    origin, home, outside = world["origin"], world["home"], world["outside"]
    from skill.tracking.track import track_experiment

    with track_experiment("with-model", increment=INC, root=origin) as exp:
        exp.save_model({"weights": [1, 2, 3]})
    shared = outside / "team-objects"
    (origin / ".specweave/ml.yaml").write_text(f"artifacts:\n  remote: {shared}\n")
    clone = commit_and_clone(world, "the team's remote")
    assert sw_in(clone, home, "artifacts", "push").returncode == 2
    allowed = sw_in(clone, home, "artifacts", "allow-remote")
    assert allowed.returncode == 0 and str(shared) in allowed.stdout
    assert (home / ".config/specweave-ml/allowed-remotes.json").is_file()  # the user's own config
    pushed = sw_in(clone, home, "artifacts", "push")
    assert pushed.returncode == 0 and pushed.stdout.startswith("pushed "), pushed.stdout + pushed.stderr
    model = [a for a in Project(clone).experiment(exp.id, INC).meta.artifacts if a.kind == "model"][0]
    assert (shared / object_key(model.sha256)).is_file()
    # a later commit moves the remote: asked again
    (origin / ".specweave/ml.yaml").write_text(f"artifacts:\n  remote: {outside / 'elsewhere'}\n")
    git(origin, "commit", "-qam", "moved")
    git(clone, "pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
    again = sw_in(clone, home, "artifacts", "push")
    assert again.returncode == 2 and "allow-remote" in again.stderr
    assert not (outside / "elsewhere").exists()
    # the user's own flag needs no confirmation; a chained URL is refused even there
    assert sw_in(clone, home, "artifacts", "push", "--to", str(outside / "mine")).returncode == 0
    for url in (f"simplecache::file://{outside}/x", "http://127.0.0.1:9/objects", "reference://"):
        refused = sw_in(clone, home, "artifacts", "push", "--to", url)
        assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr


# -- 8. a decision from the future does not win -----------------------------------------------------------
def test_a_decision_dated_2099_is_flagged_and_never_selects(world: dict[str, Path]) -> None:
    origin, home = world["origin"], world["home"]
    from skill.storage.decision_writer import log_decision

    log_decision(origin, INC, "exp-001", "baseline first")
    path = origin / ".specweave/increments" / INC / "experiments/decisions.jsonl"
    line = json.loads(path.read_text().splitlines()[0])
    line.update(ts="2099-01-01T00:00:00Z", selected=_exp(origin, INC, 4).name.split(".")[0],
                selected_dir=_exp(origin, INC, 4).name, rationale="from the future")
    with path.open("a") as handle:
        handle.write(json.dumps(line) + "\n")
    clone = commit_and_clone(world, "a decision from 2099")
    decided = sw_in(clone, home, "log-decision", "exp-002", "--rationale", "measured", "--increment", INC)
    assert decided.returncode == 0 and "exp-002" in decided.stdout and "NOT selected" not in decided.stdout
    listed = sw_in(clone, home, "list-experiments", INC, "--tag", "selected", "--json")
    rows = json.loads(listed.stdout)
    rows = rows["experiments"] if isinstance(rows, dict) else rows
    assert [r["id"] for r in rows] == [_exp(clone, INC, 2).name.split(".")[0]]
    compared = sw_in(clone, home, "compare-experiments", INC)
    assert "more than a day in the future" in compared.stdout + compared.stderr + (
        _exp(clone, INC, 1).parent / "comparison.md").read_text()


def test_log_decision_says_when_a_later_decision_still_holds(world: dict[str, Path]) -> None:
    from datetime import datetime, timedelta, timezone

    origin, home = world["origin"], world["home"]
    from skill.storage.decision_writer import log_decision

    log_decision(origin, INC, "exp-001", "baseline first")
    path = origin / ".specweave/increments" / INC / "experiments/decisions.jsonl"
    line = json.loads(path.read_text().splitlines()[0])
    line["ts"] = (datetime.now(timezone.utc) + timedelta(hours=6)).isoformat()  # a clock a few hours ahead
    path.write_text(json.dumps(line) + "\n")
    clone = commit_and_clone(world, "a decision a few hours ahead")
    decided = sw_in(clone, home, "log-decision", "exp-002", "--rationale", "measured", "--increment", INC)
    assert decided.returncode == 0 and "NOT selected" in decided.stdout and "exp-001" in decided.stdout
    answer = mcp_in(clone, [("log_decision", {"selected": "exp-003", "rationale": "r", "increment": INC})])[0]
    assert "NOT selected" in answer and "exp-001" in answer


# -- 10. the markdown the tracker commits is inert --------------------------------------------------------
def test_user_text_adds_no_html_and_no_script_links_to_committed_markdown(world: dict[str, Path]) -> None:
    origin, home = world["origin"], world["home"]
    from skill.tracking.track import track_experiment

    with track_experiment("html", increment=INC, root=origin) as exp:
        exp.log_params({"<svg onload=alert(1)>": "<img src=x onerror=alert(2)>"})
        exp.log_metric("accuracy", 0.99)
        exp.log_note("[click](javascript:alert(3)) & <script>alert(4)</script>")
        exp.set_status("failed")
    clone = commit_and_clone(world, "html in user text")
    assert sw_in(clone, home, "log-decision", "html", "--increment", INC, "--rationale",
                 "<script>alert(5)</script> [x](javascript:alert(6)) [ok](https://example.com)\n"
                 "[r]: javascript:alert(7)").returncode == 0
    assert sw_in(clone, home, "compare-experiments", INC).returncode == 0
    assert sw_in(clone, home, "sync-docs").returncode == 0
    for path in (_exp(clone, INC, 1).parent / "comparison.md",
                 clone / ".specweave/docs/internal/architecture/ml-experiments.md"):
        text = path.read_text()
        assert "&lt;script&gt;" in text, path
        for bad in ("<script", "<img", "<svg", "](javascript:", "\n[r]: javascript:"):
            assert bad not in text, (path, bad)
        assert "[ok](https://example.com)" in text
