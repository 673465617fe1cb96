"""`sw-ml artifacts push/pull`: objects to and from a remote (a local folder, and a real S3 API served on
127.0.0.1 by moto), idempotent, checked by sha256 on the way in, enough for a fresh clone to load models."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from skill.errors import InvalidInput, MissingExtra, ObjectMissing
from skill.project import Project
from skill.storage.objects import object_key, object_path
from specweave import load_model, track_experiment
from tests.fixtures import REPO, git, sw

@pytest.fixture(autouse=True)
def _own_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Confirmations of ml.yaml remotes go to a config folder of the test's own, never the real HOME's."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.delenv("SPECWEAVE_ARTIFACTS_REMOTE", raising=False)


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


def _two_runs(root: Path) -> dict[str, str]:
    """Two runs in two increments, each with a model and a figure (the figure is the same bytes), committed;
    returns experiment id -> its model's sha256."""
    shas = {}
    for name, inc in (("alpha", "0001"), ("beta", "0002")):
        with track_experiment(name, increment=inc) as exp:  # no points: a point log is an object too
            exp.log_param("auc_goal", 0.5)                      # (tests/test_long_runs.py counts those)
            shas[exp.id] = exp.save_model({"name": name, "weights": list(range(50))}).sha256
            exp.save_artifact("plots/roc.png", PNG)
            exp.save_artifact("summary.json", {"auc": 0.5})  # text: in git, nothing to copy
    git(root, "add", "-A")
    git(root, "commit", "-qm", "two runs")
    return shas


def _clone(source: Path, dest: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(source), str(dest)], check=True, capture_output=True)
    return dest


def _remote_files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


# -- a local folder ---------------------------------------------------------------------------------
def test_push_then_pull_into_a_fresh_clone_through_a_folder(project: Path, tmp_path: Path) -> None:
    shas = _two_runs(project)
    remote = tmp_path / "remote"
    first = Project(project).push_artifacts(to=str(remote))
    assert (first.objects, first.copied, first.already, first.missing) == (3, 3, 0, [])  # 2 models, 1 figure
    assert first.bytes == sum(p.stat().st_size for p in remote.rglob("*") if p.is_file())
    assert _remote_files(remote) == sorted(object_key(s) for s in [*shas.values(), *_png_sha(project)])
    again = Project(project).push_artifacts(to=str(remote))
    assert (again.copied, again.already, again.bytes) == (0, 3, 0)  # idempotent

    clone = _clone(project, tmp_path / "clone")
    assert not (clone / ".specweave" / "objects").exists()  # git never carried them
    exp_id = next(iter(shas))
    with pytest.raises(ObjectMissing, match="sw-ml artifacts pull"):
        load_model(exp_id, root=clone)
    pulled = Project(clone).pull_artifacts(source=str(remote))
    assert (pulled.copied, pulled.already, pulled.refused, pulled.missing) == (3, 0, [], [])
    assert load_model(exp_id, root=clone) == {"name": "alpha", "weights": list(range(50))}
    assert Project(clone).artifact_path(exp_id, "plots/roc.png").read_bytes() == PNG
    assert Project(clone).pull_artifacts(source=str(remote)).copied == 0  # idempotent
    assert git(clone, "status", "--porcelain") == ""  # the pulled objects are git-ignored


def _png_sha(root: Path) -> list[str]:
    import hashlib

    return [hashlib.sha256(PNG).hexdigest()]


def test_push_of_one_increment_and_pull_of_one_experiment(project: Path, tmp_path: Path) -> None:
    shas = _two_runs(project)
    remote = tmp_path / "remote"
    pushed = Project(project).push_artifacts("0001", to=str(remote))
    assert (pushed.objects, pushed.copied) == (2, 2)  # alpha's model and the figure
    alpha, beta = list(shas)
    clone = _clone(project, tmp_path / "clone")
    one = Project(clone).pull_artifacts([f"0001/{alpha}"], source=str(remote))
    assert (one.objects, one.copied) == (2, 2)
    assert load_model(alpha, root=clone)["name"] == "alpha"
    missing = Project(clone).pull_artifacts(source=str(remote))  # beta's model was never pushed
    assert missing.copied == 0 and len(missing.missing) == 1 and beta in missing.missing[0]
    assert "not on the remote" in missing.missing[0]


def test_the_cli_reports_what_moved_and_exits_1_when_something_could_not(project: Path, tmp_path: Path) -> None:
    shas = _two_runs(project)
    remote = str(tmp_path / "remote")
    (project / ".specweave" / "ml.yaml").write_text(f"artifacts:\n  remote: {remote}\n")
    refused = sw("artifacts", "push", cwd=project)  # ml.yaml came with the repository: confirmed first
    assert refused.returncode == 2 and "sw-ml artifacts allow-remote" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and not (tmp_path / "remote").exists()
    assert sw("artifacts", "allow-remote", cwd=project).returncode == 0
    done = sw("artifacts", "push", "--json", cwd=project)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["direction"], report["copied"], report["already"]) == ("push", 3, 0)
    assert (tmp_path / "remote" / "sha256").is_dir()
    text = sw("artifacts", "push", cwd=project)
    assert text.returncode == 0 and text.stdout.startswith(f"pushed 0 objects (0 bytes) to {remote}; 3 already there")
    # an object this clone lost cannot be pushed: said, exit 1
    shutil.rmtree(tmp_path / "remote")
    object_path(project / ".specweave", next(iter(shas.values()))).unlink()
    lost = sw("artifacts", "push", cwd=project)
    assert lost.returncode == 1 and "missing:" in lost.stdout and "not in this clone" in lost.stdout


def test_no_remote_is_one_line_saying_how_to_set_one(project: Path) -> None:
    _two_runs(project)
    with pytest.raises(InvalidInput, match="ml.yaml"):
        Project(project).push_artifacts()
    done = sw("artifacts", "pull", cwd=project)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "--to/--from URL" in done.stderr


def test_a_corrupted_or_truncated_remote_object_is_refused(project: Path, tmp_path: Path) -> None:
    shas = _two_runs(project)
    remote = tmp_path / "remote"
    Project(project).push_artifacts(to=str(remote))
    alpha, beta = list(shas)
    bad = remote / object_key(shas[alpha])
    data = bytearray(bad.read_bytes())
    data[10] ^= 0xFF  # the same size, other bytes
    bad.write_bytes(bytes(data))
    short = remote / object_key(shas[beta])
    short.write_bytes(short.read_bytes()[:-5])
    clone = _clone(project, tmp_path / "clone")
    done = sw("artifacts", "pull", "--from", str(remote), cwd=clone)
    assert done.returncode == 1
    refused = [line for line in done.stdout.splitlines() if line.startswith("refused:")]
    assert len(refused) == 2 and any("sha256" in line for line in refused) and any("bytes" in line for line in refused)
    assert "pulled 1 object" in done.stdout  # the figure was fine
    assert not object_path(clone / ".specweave", shas[alpha]).exists()  # never kept
    assert not list((clone / ".specweave" / "cache" / "tmp").glob("*.tmp"))
    with pytest.raises(ObjectMissing):
        load_model(alpha, root=clone)


def test_status_says_what_is_here_and_verify_hashes(project: Path, tmp_path: Path) -> None:
    shas = _two_runs(project)
    status = Project(project).artifacts_status()
    assert (status.in_git, status.objects, status.present, status.missing) == (2, 3, 3, [])
    kept = object_path(project / ".specweave", next(iter(shas.values())))
    os.chmod(kept, 0o644)
    data = bytearray(kept.read_bytes())
    data[0] ^= 1
    kept.write_bytes(bytes(data))
    assert Project(project).artifacts_status().damaged == []  # same size: only hashing tells
    verified = Project(project).artifacts_status(verify=True)
    assert len(verified.damaged) == 1
    done = sw("artifacts", "status", "--verify", cwd=project)
    assert done.returncode == 1 and "1 damaged" in done.stdout


def test_without_fsspec_or_s3fs_the_error_names_the_extra(project: Path, tmp_path: Path) -> None:
    _two_runs(project)
    code = ("import sys; sys.modules[{mod!r}] = None\n"  # as if the extra were not installed
            "from skill.project import Project\n"
            "from skill.errors import MissingExtra\n"
            "try:\n    Project('.').push_artifacts(to={url!r})\n"
            "except MissingExtra as exc:\n    print('ERR', exc)\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for mod, url in (("fsspec", str(tmp_path / "r")), ("s3fs", "s3://bucket/x")):
        done = subprocess.run([sys.executable, "-c", code.format(mod=mod, url=url)], cwd=project, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.stdout.startswith("ERR "), done.stdout + done.stderr
        assert "specweave-ml[remote]" in done.stdout and mod in done.stdout
    assert MissingExtra("s3fs", "remote").exit_code == 5


# -- a real S3 API on 127.0.0.1 -----------------------------------------------------------------------
@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's S3 server in a thread on 127.0.0.1; yields its endpoint URL, with credentials in the env."""
    server_mod = pytest.importorskip("moto.server")
    for var, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                       ("AWS_DEFAULT_REGION", "us-east-1"), ("AWS_EC2_METADATA_DISABLED", "true")):
        monkeypatch.setenv(var, value)
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    import urllib.request

    import s3fs

    # moto keeps its buckets per process, not per server: start every test from an empty S3
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=30).close()

    s3fs.S3FileSystem(endpoint_url=endpoint, skip_instance_cache=True).mkdir("team-bucket")
    try:
        yield endpoint
    finally:
        server.stop()


def _s3_config(root: Path, endpoint: str) -> None:
    (root / ".specweave" / "ml.yaml").write_text(
        f"artifacts:\n  remote: s3://team-bucket/ml-objects\n  storage_options:\n    endpoint_url: {endpoint}\n")


def test_push_and_pull_through_s3(project: Path, tmp_path: Path, s3: str) -> None:
    import s3fs

    shas = _two_runs(project)
    _s3_config(project, s3)
    git(project, "add", "-A")
    git(project, "commit", "-qm", "the team's remote")
    assert sw("artifacts", "allow-remote", cwd=project).returncode == 0
    done = sw("artifacts", "push", "--json", cwd=project)
    assert done.returncode == 0, done.stderr
    first = json.loads(done.stdout)
    assert (first["copied"], first["already"], first["remote"]) == (3, 0, "s3://team-bucket/ml-objects")
    bucket = s3fs.S3FileSystem(endpoint_url=s3, skip_instance_cache=True)
    listed = sorted(p.split("ml-objects/", 1)[1] for p in bucket.find("team-bucket/ml-objects"))
    assert listed == sorted(object_key(s) for s in [*shas.values(), *_png_sha(project)])
    again = json.loads(sw("artifacts", "push", "--json", cwd=project).stdout)
    assert (again["copied"], again["already"]) == (0, 3)

    clone = _clone(project, tmp_path / "clone")  # the remote's settings came with the clone
    alpha = next(iter(shas))
    assert sw("artifacts", "pull", cwd=clone).returncode == 2  # not confirmed in this clone yet
    assert sw("artifacts", "allow-remote", cwd=clone).returncode == 0
    pulled = sw("artifacts", "pull", "--json", cwd=clone)
    assert pulled.returncode == 0, pulled.stderr
    assert json.loads(pulled.stdout)["copied"] == 3
    assert load_model(alpha, root=clone)["name"] == "alpha"
    assert json.loads(sw("artifacts", "pull", "--json", cwd=clone).stdout)["already"] == 3


def test_a_corrupted_s3_object_is_refused(project: Path, tmp_path: Path, s3: str) -> None:
    import s3fs

    shas = _two_runs(project)
    _s3_config(project, s3)
    Project(project).allow_remote()
    Project(project).push_artifacts()
    alpha = next(iter(shas))
    bucket = s3fs.S3FileSystem(endpoint_url=s3, skip_instance_cache=True)
    key = f"team-bucket/ml-objects/{object_key(shas[alpha])}"
    data = bytearray(bucket.cat_file(key))
    data[-1] ^= 0xFF
    bucket.pipe_file(key, bytes(data))  # the same size, other bytes
    clone = _clone(project, tmp_path / "clone")
    _s3_config(clone, s3)
    Project(clone).allow_remote()
    result = Project(clone).pull_artifacts()
    assert result.copied == 2 and len(result.refused) == 1 and alpha in result.refused[0]
    assert "sha256" in result.refused[0]
    with pytest.raises(ObjectMissing):
        load_model(alpha, root=clone)
    # push compares hashes, not sizes: a clone that has the true bytes repairs the same-size damaged copy
    repaired = Project(project).push_artifacts()
    assert (repaired.copied, repaired.already) == (1, 2)
    assert bucket.cat_file(key) == Path(object_path(project / ".specweave", shas[alpha])).read_bytes()
    assert Project(clone).pull_artifacts().copied == 1
    assert load_model(alpha, root=clone)["name"] == "alpha"
