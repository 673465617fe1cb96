"""What a run records for its rebuild, unasked (the patch, untracked sources within bounds, cwd, command,
seeds, whether the commit is on a remote), and `exp.log_dataset` fingerprints. Real repositories and
real subprocesses; datasets through the real tracker in-process."""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

import pytest
from tests.fixtures import git, init_repo
from tests.repro_scenario import run_script

from skill.errors import InvalidInput
from skill.project import Project
from skill.repro.capture import MAX_FILE_BYTES, MAX_TOTAL_BYTES, param_seeds
from skill.repro.gitwork import scratch_env, tree_of
from skill.tracking.track import track_experiment

SCRIPT = '''\
import sys
from specweave import track_experiment

with track_experiment("capture", increment="0001") as exp:
    exp.log_param("args", sys.argv[1:])
    exp.log_metric("m", 1.0)
'''


def only_record(root: Path):
    records = Project(root).experiments("0001")
    assert len(records) >= 1
    return records[-1]


def test_dirty_run_records_a_patch_that_rebuilds_its_source(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "repo")
    (root / "src").mkdir()
    (root / "src" / "model.py").write_text("DEPTH = 3\n")
    (root / "train.py").write_text(SCRIPT)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "code")
    (root / "src" / "model.py").write_text("DEPTH = 5  # not committed\n")          # tracked, changed
    (root / "src" / "extra.py").write_text("def helper():\n    return 1\n")           # untracked source
    (root / "src" / "huge.py").write_text("x = 1\n" * (MAX_FILE_BYTES // 6 + 10))  # untracked, too large
    (root / "data.csv").write_text("a,b\n1,2\n")                                     # untracked, not source
    (root / "run").mkdir()
    run_script(root, str(root / "train.py"), "--lr", "0.1", cwd=root / "run")

    record = only_record(root)
    capture = record.meta.capture
    assert capture.cwd == "run"
    assert capture.argv == ["../train.py", "--lr", "0.1"]  # an absolute path in the repo made portable
    assert capture.patch == "code.patch" and capture.untracked == ["src/extra.py"]
    assert sorted(capture.patch_files) == ["src/extra.py", "src/model.py"]
    left = {f.path: f.reason for f in capture.left_out}
    assert left == {"src/huge.py": f"over {MAX_FILE_BYTES} bytes", "data.csv": "not a source file"}
    assert (capture.max_file_bytes, capture.max_total_bytes) == (MAX_FILE_BYTES, MAX_TOTAL_BYTES)
    patch = Path(record.path) / "code.patch"
    assert ".specweave" not in patch.read_text()

    # commit + patch is the source the run ran: built in scratch objects, the checkout untouched
    status = git(root, "status", "--porcelain")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = scratch_env(root, scratch, "t")
    tree = tree_of(root, record.meta.git.commit, patch, env)
    import subprocess

    def show(path: str) -> str:
        return subprocess.run(["git", "-C", str(root), "show", f"{tree}:{path}"], env={**os.environ, **env},
                              capture_output=True, text=True, check=True).stdout

    assert show("src/model.py") == "DEPTH = 5  # not committed\n"
    assert show("src/extra.py") == "def helper():\n    return 1\n"
    assert git(root, "status", "--porcelain") == status


def test_untracked_sources_past_the_total_are_left_out(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "repo")
    (root / "train.py").write_text(SCRIPT)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "code")
    chunk = "y = 2\n" * (MAX_FILE_BYTES // 6 - 10)  # just under the per-file bound
    count = MAX_TOTAL_BYTES // len(chunk) + 2
    for i in range(count):
        (root / f"gen_{i:02d}.py").write_text(chunk)
    run_script(root, "train.py")
    capture = only_record(root).meta.capture
    total = sum(len(chunk) for _ in capture.untracked)
    assert total <= MAX_TOTAL_BYTES and len(capture.untracked) >= 1
    past = [f for f in capture.left_out if f.reason == f"past the {MAX_TOTAL_BYTES}-byte total"]
    assert len(capture.untracked) + len(past) == count and past


def test_clean_run_has_no_patch(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "repo")
    (root / "train.py").write_text(SCRIPT)
    (root / ".gitignore").write_text(".specweave/\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "code")
    run_script(root, "-m", "train")  # a module run stays a module run
    record = only_record(root)
    assert record.meta.capture.patch is None and record.meta.capture.patch_files == []
    assert record.meta.capture.argv == ["-m", "train"]
    assert not (Path(record.path) / "code.patch").exists()


def test_seeds_set_before_the_run_are_read_never_guessed(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "repo")
    torch = importlib.util.find_spec("torch") is not None
    seeded = ("import random, numpy\nrandom.seed(7)\nnumpy.random.seed(11)\n"
              + ("import torch\ntorch.manual_seed(5)\n" if torch else "")) + SCRIPT
    (root / "seeded.py").write_text(seeded)
    (root / "drawn.py").write_text("import random, numpy\nrandom.seed(7)\nrandom.random()\nnumpy.random.seed(11)\n"
                                   "numpy.random.rand()\n" + SCRIPT)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "scripts")
    run_script(root, "seeded.py")
    run_script(root, "drawn.py")
    first, second = Project(root).experiments("0001")
    assert first.meta.capture.seeds == {"random": 7, "numpy": 11, **({"torch": 5} if torch else {})}
    assert "random" not in second.meta.capture.seeds and "numpy" not in second.meta.capture.seeds


def test_one_seed_for_all_generators_is_read_for_random_too(tmp_path: Path) -> None:
    """`seed_everything(n)` (transformers', Lightning's) seeds random, numpy and torch with one n: numpy's
    seed, read directly, is tried for random first, so a seed outside the searched candidates is found."""
    from skill.repro.capture import SEED_CANDIDATES

    seed = 987_654_321
    assert seed not in SEED_CANDIDATES  # the search alone would not find it
    root = init_repo(tmp_path / "repo")
    (root / "everything.py").write_text(f"import random, numpy\nrandom.seed({seed})\nnumpy.random.seed({seed})\n"
                                        + SCRIPT)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "script")
    run_script(root, "everything.py")
    assert only_record(root).meta.capture.seeds == {"random": seed, "numpy": seed}


def test_seeds_logged_as_params() -> None:
    assert param_seeds({"seed": 3, "model.random_state": 4, "seedling": 1, "flag_seed": True, "data_seed": 9,
                        "random_state": "0"}) == {"params.seed": 3, "params.model.random_state": 4,
                                                  "params.data_seed": 9}


def test_whether_the_commit_is_on_a_remote(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "repo")
    (root / "train.py").write_text(SCRIPT)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "code")
    run_script(root, "train.py")
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    git(root, "remote", "add", "origin", str(origin))
    git(root, "push", "-q", "origin", "main")
    run_script(root, "train.py")
    (root / "train.py").write_text(SCRIPT + "# more\n")
    git(root, "commit", "-qam", "local only")
    run_script(root, "train.py")
    assert [r.meta.capture.on_remote for r in Project(root).experiments("0001")] == [None, True, False]


def test_capture_can_be_turned_off(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "repo")
    (root / "train.py").write_text(SCRIPT)
    run_script(root, "train.py", SPECWEAVE_CAPTURE="0")
    record = only_record(root)
    assert record.meta.capture is None and not (Path(record.path) / "code.patch").exists()
    assert record.meta.git.commit  # the environment capture is not affected


# -- datasets ---------------------------------------------------------------------------------------
def test_file_dataset_uses_the_size_and_mtime_fast_path(project: Path) -> None:
    data = project / "data" / "train.csv"
    data.parent.mkdir()
    data.write_text("a,b\n1,2\n")
    with track_experiment("data", root=project) as exp:
        first = exp.log_dataset("train", "data/train.csv")
    assert first.kind == "file" and first.path == "data/train.csv" and first.size == 8
    assert first.sha256 == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    assert (project / ".specweave" / "cache" / "fingerprints.json").is_file()

    st = data.stat()
    with open(data, "r+") as handle:  # same size, same inode, mtime put back: the cache answers
        handle.write("a,b\n3,4\n")
    os.utime(data, ns=(st.st_atime_ns, st.st_mtime_ns))
    with track_experiment("data", root=project) as exp:
        assert exp.log_dataset("train", data).sha256 == first.sha256
    os.utime(data, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # mtime moved: hashed again
    with track_experiment("data", root=project) as exp:
        again = exp.log_dataset("train", data)
    assert again.sha256 == hashlib.sha256(b"a,b\n3,4\n").hexdigest()
    records = Project(project).experiments()
    assert [r.meta.datasets[0].sha256 for r in records] == [first.sha256, first.sha256, again.sha256]


def test_folder_dataframe_and_dvc_fingerprints(project: Path) -> None:
    import pandas as pd

    folder = project / "images"
    (folder / "a").mkdir(parents=True)
    (folder / "a" / "1.txt").write_text("one")
    (folder / "2.txt").write_text("two")
    (project / "tracked.csv").write_text("x\n1\n")
    (project / "tracked.csv.dvc").write_text("outs:\n- md5: 0123456789abcdef0123456789abcdef\n  size: 4\n"
                                             "  path: tracked.csv\n")
    (project / "features").mkdir()
    (project / "dvc.lock").write_text("schema: '2.0'\nstages:\n  featurize:\n    cmd: python f.py\n    outs:\n"
                                      "    - path: features/out.parquet\n      md5: feedfacefeedfacefeedfacefeedface\n")
    frame = pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", "c"]})
    with track_experiment("data", root=project, increment="0001") as exp:
        exp.log_dataset("images", "images")
        exp.log_dataset("frame", frame)
        exp.log_dataset("tracked", "tracked.csv")
        exp.log_dataset("features", "features/out.parquet")  # DVC's hash: the data need not be here
        with pytest.raises(InvalidInput, match="dataset source"):
            exp.log_dataset("gone", "no/such/file.csv")
        with pytest.raises(InvalidInput, match="dataset source"):
            exp.log_dataset("number", 42)
    (folder / "2.txt").write_text("TWO")
    changed = frame.copy()
    changed.loc[1, "x"] = 20
    with track_experiment("data", root=project, increment="0001") as exp:
        exp.log_dataset("images", folder)
        exp.log_dataset("frame", changed)
        exp.log_dataset("frame-again", frame.copy())
    first, second = (({d.name: d for d in r.meta.datasets}) for r in Project(project).experiments("0001"))
    assert (first["images"].kind, first["images"].files, first["images"].size) == ("folder", 2, 6)
    assert first["images"].sha256 != second["images"].sha256
    assert first["frame"].rows == 3 and first["frame"].columns == {"x": "int64", "y": str(frame.dtypes["y"])}
    assert first["frame"].sha256 != second["frame"].sha256 and second["frame-again"].sha256 == first["frame"].sha256
    assert (first["tracked"].kind, first["tracked"].dvc_md5) == ("dvc", "0123456789abcdef0123456789abcdef")
    assert first["features"].dvc_md5 == "feedfacefeedfacefeedfacefeedface"


def test_data_version_keeps_working_and_diffs(project: Path) -> None:
    from skill.schemas.records import ExperimentMetadata

    for version in ("v1", "v2"):
        with track_experiment(ExperimentMetadata(name="dv", data_version=version), root=project, increment="0001"):
            pass
    a, b = Project(project).experiments("0001")
    assert (a.meta.data_version, b.meta.data_version) == ("v1", "v2")
    assert Project(project).diff(a.id, b.id).data.changed == {"data_version": ["v1", "v2"]}


def test_the_package_list_is_what_importlib_metadata_reads() -> None:
    """The fast header scan names every distribution and version exactly as `dist.metadata` parses them."""
    from importlib import metadata

    from skill.repro.environment import capture_packages

    expected: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata.get("Name") if dist.metadata else None
        if name:
            expected[name.lower().replace("_", "-")] = dist.version
    found = capture_packages()
    assert len(found) > 50 and found == dict(sorted(expected.items()))
    assert list(found) == sorted(found)


def test_a_folders_package_list_is_read_again_only_when_the_folder_changes(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Each sys.path folder's list is kept in the user's cache under the folder's identity and mtime: used
    while the folder is unchanged, read again once an entry is added or removed, never kept while the
    folder changed too recently to tell, and an unreadable cache is only a slower start."""
    import shutil
    import sys
    import time

    from skill.repro import package_cache
    from skill.repro.environment import capture_packages

    site = tmp_path / "site"

    def dist(name: str, version: str) -> None:
        (site / f"{name}-{version}.dist-info").mkdir(parents=True, exist_ok=True)
        (site / f"{name}-{version}.dist-info" / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n")

    def settled(ago: float) -> None:  # the folder last changed `ago` seconds back
        os.utime(site, (time.time() - ago, time.time() - ago))

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(sys, "path", [str(site)])
    dist("alpha", "1.0")
    settled(100)
    assert capture_packages() == {"alpha": "1.0"}
    assert package_cache.cache_file() == tmp_path / "cache" / "specweave-ml" / "packages.json"
    assert list(package_cache.load()) == [str(site)]

    (site / "alpha-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: alpha\nVersion: 9.9\n\n")
    assert capture_packages() == {"alpha": "1.0"}  # the folder is as it was: its list is not read again

    dist("beta", "2.0")  # pip adds a folder: the mtime moves, and the list is read again
    assert capture_packages() == {"alpha": "9.9", "beta": "2.0"}
    assert package_cache.load()[str(site)]["packages"] == "alpha\n1.0"  # just changed: not kept yet
    settled(50)
    assert capture_packages() == {"alpha": "9.9", "beta": "2.0"}
    assert package_cache.load()[str(site)]["packages"] == "alpha\n9.9\nbeta\n2.0"  # name, version, ...

    package_cache.cache_file().write_text("[")
    shutil.rmtree(site / "beta-2.0.dist-info")
    settled(20)
    assert capture_packages() == {"alpha": "9.9"}
    assert package_cache.load()[str(site)]["packages"] == "alpha\n9.9"

    # an entry of the wrong shape (this folder's, another's) is never used, and goes when the file is written
    import json

    known = package_cache.load()
    for bad_packages in (["alpha", "1.0"], "alpha\n1.0\nbeta"):  # not a string; a name without its version
        bad = {**known[str(site)], "packages": bad_packages}
        package_cache.cache_file().write_text(json.dumps({"version": 2, "folders": {str(site): bad, "/else": 7}}))
        assert capture_packages() == {"alpha": "9.9"}  # read from the folder again
        rewritten = package_cache.load()
        assert rewritten == {str(site): {**bad, "packages": "alpha\n9.9", "used": rewritten[str(site)]["used"]}}


def test_the_new_file_diff_written_here_is_the_one_git_writes(tmp_path: Path) -> None:
    """Untracked files' diffs are written without a git process each; byte for byte git's own, and left to
    git (None) wherever its form differs: links, empty and binary files, names it quotes or pads."""
    import subprocess

    from skill.repro.new_file_diff import new_file_diff

    init_repo(tmp_path)
    files = {"a.py": b"import os\nprint(1)\n", "one.py": b"x = 1\n", "no_newline.py": b"x = 1",
             "crlf.py": b"a = 1\r\nb = 2\r\n", "utf8.py": "café = 'ü'\n".encode(), "blank.py": b"\n\n\n",
             "sub/dir/x-y_z.2@v=1,a+b.yaml": b"k: v\n", "run.sh": b"#!/bin/sh\necho hi\n"}
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    os.chmod(tmp_path / "run.sh", 0o755)
    for name in files:
        theirs = subprocess.run(["git", "diff", "--no-index", "--full-index", "--binary", "--no-color", "--",
                                 "/dev/null", name], cwd=tmp_path, capture_output=True, check=False).stdout
        assert new_file_diff(name, files[name], os.lstat(tmp_path / name)) == theirs, name
    odd = {"with space.py": b"x\n", "caf\u00e9.py": b"x\n", 'q"uote.py': b"x\n", "empty.py": b"",
           "bin.py": b"x\0y\n"}
    for name, data in odd.items():
        (tmp_path / name).write_bytes(data)
        assert new_file_diff(name, data, os.lstat(tmp_path / name)) is None, name
    os.symlink("a.py", tmp_path / "link.py")
    assert new_file_diff("link.py", b"a.py", os.lstat(tmp_path / "link.py")) is None
    # the capture takes both kinds (written here, and git's for the odd ones) into one patch that applies
    from skill.repro.capture import capture_code

    (tmp_path / "link.py").unlink()
    state = capture_code(tmp_path)
    assert {*files, "with space.py", "caf\u00e9.py", 'q"uote.py', "empty.py"} <= set(state.untracked)
    assert [left.path for left in state.left_out] == ["bin.py"] and state.left_out[0].reason == "binary"
    clone = tmp_path.parent / "clone"
    subprocess.run(["git", "clone", "-q", str(tmp_path), str(clone)], check=True, capture_output=True)
    (clone / "patch").write_bytes(state.patch or b"")
    git(clone, "apply", "patch")
    for name, data in files.items():
        assert (clone / name).read_bytes() == data, name
    assert os.stat(clone / "run.sh").st_mode & 0o100 and (clone / "with space.py").read_bytes() == b"x\n"


CHILDREN = '''\
import json, sys
seen = []
sys.addaudithook(lambda event, args: seen.append(args[1][:4]) if event == "subprocess.Popen" else None)
from specweave import track_experiment
with track_experiment("first", increment="0001"):
    pass
with track_experiment("second", increment="0001"):
    pass
print(json.dumps(seen))
'''


@pytest.mark.parametrize("tree", ["clean", "dirty"])
def test_a_process_asks_git_each_question_once_and_runs_no_uname(tmp_path: Path, run_py, tree: str) -> None:
    """The environment's capture (dirty flag, hash) and the code's (patch) share one pass of git, and one
    `git config` (whether a remote is named, the author's email); a clean tree's changed names are not
    asked for; the platform text costs no `uname -p` on Linux."""
    import json
    import sys

    repo = init_repo(tmp_path / "repo")
    if tree == "dirty":
        (repo / "train.py").write_text("print('changed')\n")
    started = json.loads(run_py(CHILDREN, repo).stdout.splitlines()[-1])  # each child's first four argv
    asked = [tuple(argv[3:4]) for argv in started if argv[0] == "git"]
    expected = [("rev-parse",), ("diff",), ("ls-files",), ("config",)]  # config: the remotes and user.email
    if tree == "dirty":
        expected.insert(3, ("diff",))  # the names it touches
    assert sorted(asked) == sorted(expected)
    if sys.platform == "linux":
        assert not any(argv[0] == "uname" for argv in started)
    record = only_record(repo)
    git_info = record.meta.git
    assert git_info.dirty is (tree == "dirty")
    assert record.meta.author == "dev@example.com"  # from the one `git config`
