"""The object store: models and binary artifacts out of git, text in git up to a threshold, every reader
finding the bytes wherever they are, and nothing followed through a planted link."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
import yaml
from mcp import Client, MCPError

from skill.config import DEFAULT_IN_GIT_MAX_BYTES, load_config
from skill.errors import DamagedFile, InvalidInput, NotFound, ObjectMissing, UnsafePath
from skill.project import Project
from skill.storage.save_journal import settle_saves
from skill.storage.metafile import update_meta
from skill.storage.objects import lfs_rules, object_path
from specweave import load_model, track_experiment
from tests.fixtures import git, sw

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4  # not UTF-8: binary


def _objects(root: Path) -> list[Path]:
    return sorted(p for p in (root / ".specweave" / "objects" / "sha256").glob("*/*"))


def _meta(folder: Path) -> dict[str, Any]:
    return yaml.safe_load((folder / "metadata.yaml").read_text(encoding="utf-8"))


def _ml_yaml(root: Path, text: str) -> None:
    (root / ".specweave").mkdir(exist_ok=True)
    (root / ".specweave" / "ml.yaml").write_text(text, encoding="utf-8")


# -- routing -----------------------------------------------------------------------------------------
def test_models_and_binaries_go_to_the_store_and_small_text_stays_in_the_folder(project: Path) -> None:
    with track_experiment("route") as exp:
        model = exp.save_model({"w": list(range(100))})
        png = exp.save_artifact("plots/roc.png", PNG)
        config = exp.save_artifact("config.json", {"lr": 0.1})
        report = exp.save_artifact("report.md", "# fine\n")
        nul = exp.save_artifact("nul.txt", "a\x00b")  # valid UTF-8 with a NUL: git calls it binary too
        edge = exp.save_artifact("edge.txt", "x" * DEFAULT_IN_GIT_MAX_BYTES)
        big = exp.save_artifact("big.csv", "x" * (DEFAULT_IN_GIT_MAX_BYTES + 1))
    assert (model.stored, png.stored, nul.stored, big.stored) == ("objects",) * 4
    assert (config.stored, report.stored, edge.stored) == ("git",) * 3
    files = {p.relative_to(exp.path).as_posix() for p in exp.path.rglob("*") if p.is_file()}
    assert {"config.json", "report.md", "edge.txt"} <= files
    assert not {"model.pkl", "plots/roc.png", "nul.txt", "big.csv"} & files
    assert not (exp.path / "plots").exists()  # no empty folder left behind for a file kept in the store
    for info in (model, png, nul, big):  # each object is named by the hash of its bytes
        kept = object_path(project / ".specweave", info.sha256)
        assert hashlib.sha256(kept.read_bytes()).hexdigest() == info.sha256 and kept.stat().st_size == info.size
        assert not kept.stat().st_mode & 0o222  # read-only: an object never changes
    recorded = {a["name"]: a["stored"] for a in _meta(exp.path)["artifacts"]}
    assert recorded == {"model.pkl": "objects", "plots/roc.png": "objects", "config.json": "git",
                        "report.md": "git", "nul.txt": "objects", "edge.txt": "git", "big.csv": "objects"}


def test_in_git_forces_either_place_and_a_bad_value_writes_nothing(project: Path) -> None:
    with track_experiment("forced") as exp:
        model = exp.save_model({"w": 1}, in_git=True)
        png = exp.save_artifact("fig.png", PNG, in_git=True)
        text = exp.save_artifact("notes.txt", "small text", in_git=False)
        with pytest.raises(InvalidInput, match="in_git"):
            exp.save_artifact("bad.txt", "x", in_git="yes")  # type: ignore[arg-type]
    assert (model.stored, png.stored, text.stored) == ("git", "git", "objects")
    assert (exp.path / "model.pkl").is_file() and (exp.path / "fig.png").read_bytes() == PNG
    assert not (exp.path / "notes.txt").exists()
    assert not (exp.path / "bad.txt").exists() and "bad.txt" not in {a["name"] for a in _meta(exp.path)["artifacts"]}
    assert load_model(exp.id, root=project) == {"w": 1}


def test_threshold_from_ml_yaml_with_units(project: Path) -> None:
    _ml_yaml(project, "artifacts:\n  in_git_max_bytes: 1KiB\n")
    assert load_config(project).artifacts.in_git_max_bytes == 1024
    with track_experiment("thresh") as exp:
        small = exp.save_artifact("a.csv", "x" * 1024)
        large = exp.save_artifact("b.csv", "x" * 1025)
    assert (small.stored, large.stored) == ("git", "objects")


def test_a_misspelt_setting_is_one_line_and_never_loses_a_save(project: Path, capsys) -> None:
    _ml_yaml(project, "artifacts:\n  in_git_max_byte: 10\n")
    with pytest.raises(DamagedFile, match="in_git_max_byte") as err:
        load_config(project)
    assert "\n" not in str(err.value)
    with track_experiment("typo") as exp:
        info = exp.save_model({"w": 2})
    assert info.stored == "objects" and load_model(exp.id, root=project) == {"w": 2}
    assert "default artifact settings" in capsys.readouterr().err


def test_saving_again_elsewhere_leaves_no_stale_copy_in_the_folder(project: Path) -> None:
    with track_experiment("again") as exp:
        exp.save_model({"v": 1}, in_git=True)
        assert (exp.path / "model.pkl").is_file()
        exp.save_model({"v": 2})  # now to the store: the folder's binary copy goes
    assert not (exp.path / "model.pkl").exists()
    assert [(a["name"], a["stored"]) for a in _meta(exp.path)["artifacts"]] == [("model.pkl", "objects")]
    assert load_model(exp.id, root=project) == {"v": 2}


def test_the_same_bytes_are_kept_once(project: Path) -> None:
    for name in ("one", "two"):
        with track_experiment(name) as exp:
            exp.save_artifact("fig.png", PNG)
    assert len(_objects(project)) == 1


def test_metadata_without_the_field_reads_as_in_the_folder(project: Path) -> None:
    with track_experiment("old") as exp:
        exp.save_model({"old": True}, in_git=True)
    path = exp.path / "metadata.yaml"
    text = path.read_text(encoding="utf-8")
    assert "stored: git" in text
    path.write_text(text.replace("  stored: git\n", ""), encoding="utf-8")  # as written before the store
    record = Project(project).experiment(exp.id)
    assert record.meta.artifacts[0].stored == "git"
    assert load_model(exp.id, root=project) == {"old": True}


# -- what git sees ----------------------------------------------------------------------------------
def test_git_add_of_a_typical_run_stages_no_binary_bytes(project: Path) -> None:
    """The issue's run: 10 params, 5 metrics x 100 steps, a 5 MB model, one PNG."""
    with track_experiment("typical") as exp:
        exp.log_params({f"p{i}": i for i in range(10)})
        for step in range(100):
            exp.log_metrics({f"m{i}": step * 0.01 + i for i in range(5)}, step=step)
        exp.save_model(os.urandom(5 << 20))
        exp.save_artifact("roc.png", PNG)
    git(project, "add", "-A")
    staged = git(project, "diff", "--cached", "--numstat").splitlines()
    assert staged and not [line for line in staged if line.startswith("-\t-\t")], staged  # git: no binary file
    names = git(project, "diff", "--cached", "--name-only").splitlines()
    assert not [n for n in names if "/objects/" in n or n.endswith((".pkl", ".png", ".tmp"))], names
    sizes = [int(git(project, "cat-file", "-s", f":{name}")) for name in names]
    assert sum(sizes) < 200_000  # the model alone is 5 MB
    for name in names:  # every staged file is text
        (project / name).read_bytes().decode("utf-8")
    ignored = git(project, "status", "--porcelain", "--ignored").splitlines()
    assert "!! .specweave/objects/" in ignored


# -- reading from the store --------------------------------------------------------------------------
def test_load_model_checks_the_objects_hash_and_refuses_a_tampered_one(project: Path) -> None:
    with track_experiment("tamper") as exp:
        info = exp.save_model({"safe": True})
    assert load_model(exp.id, root=project) == {"safe": True}
    kept = Project(project).artifact_path(exp.id, "model.pkl")
    assert kept == object_path(project / ".specweave", info.sha256)
    marker = project.parent / "unpickled-marker"
    os.chmod(kept, 0o644)
    payload = pickle.dumps(_Payload(str(marker)))
    kept.write_bytes(payload[: info.size].ljust(info.size, b"."))  # the same size, other bytes
    with pytest.raises(DamagedFile, match="sha256") as err:
        load_model(exp.id, root=project)
    assert "\n" not in str(err.value)
    kept.write_bytes(payload)
    with pytest.raises(DamagedFile, match="bytes"):
        load_model(exp.id, root=project)
    assert not marker.exists()


class _Payload:
    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path,))


def test_a_missing_object_is_one_line_naming_pull(project: Path) -> None:
    with track_experiment("gone") as exp:
        info = exp.save_model({"x": 1})
        exp.save_artifact("fig.png", PNG)
    object_path(project / ".specweave", info.sha256).unlink()
    with pytest.raises(ObjectMissing) as err:
        load_model(exp.id, root=project)
    message = str(err.value)
    assert "\n" not in message and "sw-ml artifacts pull" in message and "model.pkl" in message
    assert isinstance(err.value, NotFound)
    with pytest.raises(ObjectMissing):
        Project(project).artifact_path(exp.id, "model.pkl")
    shown = sw("show-experiment", exp.id, cwd=project)
    assert shown.returncode == 0
    assert "model.pkl" in shown.stdout and "not in this clone: sw-ml artifacts pull" in shown.stdout
    status = sw("artifacts", "status", cwd=project)
    assert status.returncode == 1 and "1 missing" in status.stdout and "model.pkl" in status.stdout
    assert Project(project).artifact_path(exp.id, "fig.png").read_bytes() == PNG  # the other is still here


def test_an_unrecorded_name_is_not_found(project: Path) -> None:
    with track_experiment("names") as exp:
        exp.save_model({"x": 1})
    with pytest.raises(NotFound, match="model.pkl"):
        Project(project).artifact_path(exp.id, "other.bin")
    with pytest.raises(InvalidInput):
        Project(project).artifact_path(exp.id, "../../etc/passwd")


# -- links planted in the store ----------------------------------------------------------------------
@pytest.fixture
def outside(tmp_path: Path) -> Path:
    out = tmp_path / "outside"
    out.mkdir()
    return out


def test_a_linked_objects_folder_is_never_written_through(project: Path, outside: Path) -> None:
    with track_experiment("first") as exp:
        exp.log_param("a", 1)  # no points: a settled point log would make the objects folder
    objects = project / ".specweave" / "objects"
    objects.symlink_to(outside, target_is_directory=True)  # a clone can carry this as a committed link
    with track_experiment("linked") as exp:
        with pytest.raises(UnsafePath, match="link"):
            exp.save_model({"x": 1})
        with pytest.raises(UnsafePath):
            exp.save_artifact("fig.png", PNG)
    assert list(outside.iterdir()) == []


def test_a_linked_hash_folder_is_refused(project: Path, outside: Path) -> None:
    with track_experiment("first") as exp:
        info = exp.save_artifact("fig.png", PNG)
    folder = object_path(project / ".specweave", info.sha256).parent
    for p in folder.iterdir():
        p.unlink()
    folder.rmdir()
    (outside / object_path(project / ".specweave", info.sha256).name).write_bytes(PNG)  # the right bytes, outside
    folder.symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePath, match="link"):
        Project(project).artifact_path(exp.id, "fig.png")
    with track_experiment("second") as exp2, pytest.raises(UnsafePath):
        exp2.save_artifact("fig.png", PNG)
    assert sorted(p.name for p in outside.iterdir()) == [object_path(project / ".specweave", info.sha256).name]


def test_an_object_that_is_a_link_is_refused_and_replaced_by_a_save(project: Path, outside: Path) -> None:
    with track_experiment("linkobj") as exp:
        info = exp.save_model({"x": 1})
    kept = object_path(project / ".specweave", info.sha256)
    copy = outside / "same-bytes.pkl"
    copy.write_bytes(kept.read_bytes())  # the very bytes: the hash would match through the link
    kept.unlink()
    kept.symlink_to(copy)
    with pytest.raises(DamagedFile, match="symbolic link"):
        load_model(exp.id, root=project)
    with pytest.raises(DamagedFile, match="symbolic link"):
        Project(project).artifact_path(exp.id, "model.pkl")
    with track_experiment("resave") as exp2:
        exp2.save_model({"x": 1})  # the same bytes again: the rename replaces the link itself
    assert not kept.is_symlink() and copy.read_bytes() == kept.read_bytes()
    assert load_model(exp.id, root=project) == {"x": 1}


# -- crash safety ---------------------------------------------------------------------------------
def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return int(done.stdout)


def test_a_save_killed_between_placing_the_object_and_recording_it_is_settled(project: Path) -> None:
    """What a kill between the rename into objects/ and the metadata write leaves: the object, a journal,
    and (from an earlier save in git) a stale copy in the folder. The next metadata write records the
    object and removes the stale copy."""
    import socket

    with track_experiment("killed") as exp:
        exp.save_model({"v": 1}, in_git=True)
    data = pickle.dumps({"v": 2}, protocol=pickle.HIGHEST_PROTOCOL)
    sha = hashlib.sha256(data).hexdigest()
    kept = object_path(project / ".specweave", sha)
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_bytes(data)
    record = Project(project).experiment(exp.id)
    old = record.meta.artifacts[0]
    info = old.model_copy(update={"size": len(data), "sha256": sha, "stored": "objects"})
    folder_key = hashlib.sha256(exp.path.relative_to(project / ".specweave").as_posix().encode()).hexdigest()[:24]
    journal = (project / ".specweave" / "cache" / "tmp"
               / f"pending-{folder_key}.{hashlib.sha256(b'model.pkl').hexdigest()[:12]}.json")
    journal.write_text(json.dumps({"pid": _dead_pid(), "host": socket.gethostname(),
                                   "artifact": info.model_dump(mode="json")}))
    assert (exp.path / "model.pkl").is_file()  # the stale copy, until the save is settled
    update_meta(exp.path, lambda meta: meta.notes.clear())  # any next write of the metadata settles it
    assert not journal.exists() and not (exp.path / "model.pkl").exists()
    assert [(a["stored"], a["sha256"]) for a in _meta(exp.path)["artifacts"]] == [("objects", sha)]
    assert load_model(exp.id, root=project) == {"v": 2}


def test_a_journal_whose_object_never_landed_is_dropped(project: Path) -> None:
    import socket

    with track_experiment("never") as exp:
        info = exp.save_model({"v": 1})
    record = Project(project).experiment(exp.id)
    ghost = info.model_copy(update={"sha256": "0" * 64})
    folder_key = hashlib.sha256(exp.path.relative_to(project / ".specweave").as_posix().encode()).hexdigest()[:24]
    journal = project / ".specweave" / "cache" / "tmp" / f"pending-{folder_key}.ghost.json"
    journal.write_text(json.dumps({"pid": _dead_pid(), "host": socket.gethostname(),
                                   "artifact": ghost.model_dump(mode="json")}))
    assert settle_saves(exp.path, record.meta.artifacts) is None
    assert not journal.exists()
    assert load_model(exp.id, root=project) == {"v": 1}


# -- Git LFS instead ------------------------------------------------------------------------------
def test_init_lfs_keeps_lfs_binaries_in_the_folder_through_lfs(project: Path) -> None:
    done = sw("init", "--lfs", "--no-skill", cwd=project)
    assert done.returncode == 0, done.stderr
    assert load_config(project).artifacts.lfs is True
    attributes = (project / ".specweave" / ".gitattributes").read_text()
    assert all(rule in attributes for rule in lfs_rules())
    again = sw("init", "--lfs", "--no-skill", cwd=project)
    assert (project / ".specweave" / ".gitattributes").read_text() == attributes  # idempotent
    assert "unchanged .specweave/ml.yaml (artifacts.lfs)" in again.stdout
    with track_experiment("lfs") as exp:
        model = exp.save_model({"w": 1})
        png = exp.save_artifact("plots/roc.png", PNG)
        other = exp.save_artifact("raw.dat", PNG)  # a binary LFS is not told about: still the object store
    assert (model.stored, png.stored, other.stored) == ("git", "git", "objects")
    rel = exp.path.relative_to(project).as_posix()
    attrs = git(project, "check-attr", "filter", "--", f"{rel}/model.pkl", f"{rel}/plots/roc.png",
                f"{rel}/metadata.yaml")
    assert attrs.splitlines() == [f"{rel}/model.pkl: filter: lfs", f"{rel}/plots/roc.png: filter: lfs",
                                  f"{rel}/metadata.yaml: filter: unspecified"]
    assert load_model(exp.id, root=project) == {"w": 1}


def test_init_lfs_keeps_a_persons_artifacts_section(project: Path) -> None:
    _ml_yaml(project, "# ours\nartifacts:\n  remote: /srv/objects\n")
    done = sw("init", "--lfs", "--no-skill", cwd=project)
    assert done.returncode == 0, done.stderr
    assert (project / ".specweave" / "ml.yaml").read_text() == "# ours\nartifacts:\n  remote: /srv/objects\n"
    assert "add `lfs: true` under `artifacts:`" in done.stdout


# -- the MCP face ---------------------------------------------------------------------------------
def test_mcp_reads_artifacts_wherever_they_are_and_never_a_model(project: Path) -> None:
    from mcp_server.server import build_server

    with track_experiment("mcp", increment="0042") as exp:
        exp.save_artifact("plots/roc.png", PNG)
        exp.save_artifact("report.md", "# report\n")
        exp.save_model({"w": 1})
    base = f"specweave://increments/0042/experiments/{exp.id}/artifacts"

    async def go() -> Any:
        async with Client(build_server(project)) as client:
            png = (await client.read_resource(f"{base}/plots/roc.png")).contents[0]
            report = (await client.read_resource(f"{base}/report.md")).contents[0]
            errors = []
            for name in ("model.pkl", "nothing.txt"):
                with pytest.raises(MCPError) as caught:
                    await client.read_resource(f"{base}/{name}")
                errors.append(str(caught.value))
            return png, report, errors

    png, report, errors = anyio.run(go)
    assert base64.b64decode(png.blob) == PNG
    assert base64.b64decode(report.blob) == b"# report\n"
    assert "never sent" in errors[0] and "load_model" in errors[0]
    assert "nothing.txt" in errors[1]
