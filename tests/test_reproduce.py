"""`sw-ml reproduce`: a fresh worktree at the run's commit and patch, the current interpreter reused when its
packages match, the rerun logged and linked, a verdict per metric; one-line refusals before anything
heavy. Real repositories, real scripts, real subprocesses."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from pathlib import Path

import pytest
from tests.fixtures import git, init_repo, sw
from tests.repro_scenario import build, csv_text, run_script

from skill.project import Project

pytest.importorskip("sklearn")

JOB = '''\
import sys
from pathlib import Path
from specweave import track_experiment

data = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("numbers.txt")
with track_experiment("job", increment="0001") as exp:
    exp.log_param("seed", 1)
    exp.log_dataset("numbers", data)
    exp.log_metric("total", float(sum(int(x) for x in data.read_text().split())))
'''


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("reproduce") / "project")


def worktrees(root: Path) -> list[str]:
    return [line for line in git(root, "worktree", "list", "--porcelain").splitlines() if line.startswith("worktree ")]


def test_dry_run_says_what_it_would_do_and_does_nothing(scenario: Path) -> None:
    before = (git(scenario, "status", "--porcelain"), len(Project(scenario).experiments("0001")))
    done = sw("reproduce", "exp-002", "--dry-run", cwd=scenario)
    assert done.returncode == 0, done.stderr
    commit = git(scenario, "rev-parse", "HEAD").strip()
    out = done.stdout
    assert f"check out: {commit[:12]} in a new git worktree" in out
    assert "code.patch (1 file(s): train.py)" in out
    assert "reuse this interpreter" in out
    assert f"run:       {shlex.quote(sys.executable)} train.py\n" in out
    assert "in:        . of the worktree" in out
    assert "rtol 1e-09" in out and "params.random_state=0" in out
    plan = json.loads(sw("reproduce", "exp-001", "--dry-run", "--json", cwd=scenario).stdout)
    assert plan["patch"] is None and plan["environment"] == "current" and plan["command"] == ["train.py"]
    assert (git(scenario, "status", "--porcelain"), len(Project(scenario).experiments("0001"))) == before


def test_dirty_run_reproduces_in_a_worktree_with_its_commits_data(scenario: Path) -> None:
    status = git(scenario, "status", "--porcelain")
    current_data = (scenario / "data" / "train.csv").read_text()
    assert current_data == csv_text(shift=0.75)  # the working tree holds the third run's data and code
    done = sw("reproduce", "exp-002", "--yes", cwd=scenario, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "exp-002-forest -> exp-004-forest: reproduced (rtol 1e-09)" in done.stdout
    assert "accuracy" in done.stdout and "not compared" in done.stdout  # fit_time: a timing metric
    assert git(scenario, "status", "--porcelain") == status and len(worktrees(scenario)) == 1
    assert (scenario / "data" / "train.csv").read_text() == current_data

    project = Project(scenario)
    original, rerun = project.experiment("exp-002"), project.experiment("exp-004")
    assert rerun.metrics == original.metrics and rerun.params == original.params
    assert rerun.meta.reproduces == "exp-002-forest"
    assert rerun.meta.datasets[0].sha256 == original.meta.datasets[0].sha256  # the commit's data, not today's
    assert rerun.meta.datasets[0].sha256 != project.experiment("exp-003").meta.datasets[0].sha256
    assert rerun.meta.git.commit == original.meta.git.commit and rerun.meta.git.dirty is True
    assert rerun.meta.reproduction.verdict == "reproduced"
    assert [(r.rerun, r.verdict) for r in original.meta.reproduced_by] == [("exp-004-forest", "reproduced")]
    assert project.diff("exp-002", "exp-004").code.same is True  # the rerun ran exactly the run's source

    show = sw("show-experiment", "exp-002", cwd=scenario).stdout
    assert "reproduced:" in show and "by exp-004-forest: reproduced" in show
    assert "reproduces:  exp-002-forest: reproduced" in sw("show-experiment", "exp-004", cwd=scenario).stdout
    docs = project.sync_docs(dry_run=True).diff
    assert "[reproduced by exp-004-forest]" in docs and "[reproduces exp-002-forest: reproduced]" in docs


@pytest.fixture
def job_repo(tmp_path: Path) -> Path:
    root = init_repo(tmp_path / "job")
    (root / "job.py").write_text(JOB)
    (root / "numbers.txt").write_text("1 2 3\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "job")
    return root


def one_line_refusal(done, *words: str) -> str:
    assert done.returncode == 7, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("sw-ml: error: cannot reproduce"), done.stderr
    for word in words:
        assert word in done.stderr, done.stderr
    return done.stderr


def test_data_outside_the_repository_that_changed_is_said_to_differ(job_repo: Path, tmp_path: Path) -> None:
    data = tmp_path / "outside.txt"
    data.write_text("1 2 3\n")
    run_script(job_repo, "job.py", str(data))
    data.write_text("1 2 4\n")
    done = sw("reproduce", "exp-001", "--yes", cwd=job_repo)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "differs" in done.stdout and "the data differs: numbers" in done.stdout
    original = Project(job_repo).experiment("exp-001")
    assert original.meta.reproduced_by[-1].verdict == "differs"
    assert set(original.meta.reproduced_by[-1].differs) == {"total", "data:numbers"}
    loose = sw("reproduce", "exp-001", "--yes", "--rtol", "0.5", cwd=job_repo)  # the total is within 50%, the data not
    assert loose.returncode == 1 and "DIFFERS" not in loose.stdout and "the data differs" in loose.stdout


def test_never_pushed_commit_in_a_fresh_clone_refuses_in_one_line(job_repo: Path, tmp_path: Path) -> None:
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    git(job_repo, "remote", "add", "origin", str(origin))
    git(job_repo, "push", "-q", "origin", "main")
    git(job_repo, "checkout", "-q", "-b", "wip")
    (job_repo / "job.py").write_text(JOB.replace('"job"', '"job-wip"'))
    git(job_repo, "commit", "-qam", "wip, never pushed")
    run_script(job_repo, "job.py")
    record = Project(job_repo).experiment("exp-001")
    assert record.meta.capture.on_remote is False
    git(job_repo, "checkout", "-q", "main")
    git(job_repo, "add", ".specweave")
    git(job_repo, "commit", "-qm", "results")
    git(job_repo, "push", "-q", "origin", "main")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    done = sw("reproduce", "exp-001", cwd=clone)
    one_line_refusal(done, record.meta.git.commit[:12], "not in this repository", "never pushed")
    assert sw("reproduce", "exp-001", "--dry-run", cwd=clone).returncode == 7
    assert len(worktrees(clone)) == 1 and len(Project(clone).experiments("0001")) == 1
    assert sw("reproduce", "exp-001", "--dry-run", cwd=job_repo).returncode == 0  # the clone that ran it can


def test_a_patch_that_does_not_apply_refuses_in_one_line(job_repo: Path) -> None:
    (job_repo / "job.py").write_text(JOB.replace("exp.log_param", "exp.log_param  # edited\n    exp.log_param"))
    run_script(job_repo, "job.py")
    record = Project(job_repo).experiment("exp-001")
    patch = Path(record.path) / "code.patch"
    text = patch.read_text()
    assert ' with track_experiment("job"' in text  # a context line of the hunk
    patch.write_text(text.replace(' with track_experiment("job"', ' with track_experiment("other"'))
    one_line_refusal(sw("reproduce", "exp-001", cwd=job_repo), "patch does not apply")
    patch.unlink()
    one_line_refusal(sw("reproduce", "exp-001", cwd=job_repo), "code.patch is missing")
    assert len(worktrees(job_repo)) == 1 and len(Project(job_repo).experiments("0001")) == 1


def test_an_unknown_command_refuses_in_one_line(job_repo: Path) -> None:
    run_script(job_repo, "-", stdin=JOB)  # the script came on stdin: nothing to rerun
    one_line_refusal(sw("reproduce", "exp-001", cwd=job_repo), "command is unknown")


def test_bad_rtol_is_one_line(job_repo: Path) -> None:
    run_script(job_repo, "job.py")
    done = sw("reproduce", "exp-001", "--rtol", "-1", cwd=job_repo)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "rtol" in done.stderr


def test_different_packages_plan_a_new_environment(scenario: Path) -> None:
    """The recorded packages are not this interpreter's: the plan builds one (uv, else pip) under the cache."""
    from skill.repro.interpreter import environment as _environment
    from skill.repro.interpreter import envs_home

    record = Project(scenario).experiment("exp-001")
    assert _environment(record)["environment"] == "current"
    changed = record.model_copy(deep=True)
    changed.meta.packages = {**changed.meta.packages, "scikit-learn": "0.0.1"}
    env = _environment(changed)
    assert env["environment"] == "create" and env["installer"] == ("uv" if shutil.which("uv") else "pip")
    assert env["python"].startswith(str(envs_home()))  # the user's cache, never the repository
    assert any(d.startswith("scikit-learn 0.0.1 (here: ") for d in env["package_differences"])
    assert not (scenario / ".specweave" / "cache" / "envs").exists()  # planned, not built


def test_rerun_env_points_the_store_and_code(job_repo: Path) -> None:
    """The rerun logs into this project's store (not the worktree's), in the original increment."""
    run_script(job_repo, "job.py")
    done = sw("reproduce", "exp-001", "--yes", "--json", "--quiet", cwd=job_repo)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["verdict"] == "reproduced" and result["rerun"] == "exp-002-job"
    assert [m["ok"] for m in result["metrics"]] == [True]
    assert Project(job_repo).experiment("exp-002").increment == Project(job_repo).experiment("exp-001").increment


def test_an_environment_is_reused_only_when_reproduce_built_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder in the user's cache counts as built earlier only with the marker naming its key and pins,
    as a real folder of this user that no one else can write."""
    from skill.repro.interpreter import MARKER, env_key, env_python, envs_home, verified

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    pins = {"numpy": "1.26.4"}
    key = env_key("3.11", pins)
    folder = envs_home() / key
    assert folder.is_relative_to(tmp_path / "cache")
    env_python(folder).parent.mkdir(parents=True)
    env_python(folder).write_text("")
    folder.chmod(0o700)
    assert not verified(folder, key, pins)  # no marker: not one it built
    (folder / MARKER).write_text(json.dumps({"key": key, "pins": pins}))
    assert verified(folder, key, pins)
    assert not verified(folder, key, {"numpy": "2.0.0"})  # built for other pins
    folder.chmod(0o770)
    assert not verified(folder, key, pins)  # others could have replaced its interpreter
    folder.chmod(0o700)
    linked = envs_home() / "linked"
    linked.symlink_to(folder, target_is_directory=True)
    assert not verified(linked, key, pins)
