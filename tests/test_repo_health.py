"""The repository stays healthy: the environment once, diffs that mean something, clean merges, the umask.

Each test works in a real git repository with real subprocesses (a training script, `sw-ml`, git merges).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import yaml

from tests.fixtures import REPO, git, init_repo, sw
from skill.storage.run_summary import full_log_bytes

ENV = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1"}
for _var in ("SPECWEAVE_ROOT", "CLAUDE_PROJECT_DIR"):
    ENV.pop(_var, None)

TRAIN = """\
import sys
from specweave import track_experiment

name = sys.argv[1] if len(sys.argv) > 1 else "xgboost"
with track_experiment(name, increment="0042-churn") as exp:
    exp.log_params({f"p{i}": i for i in range(10)})
    for step in range(100):
        exp.log_metrics({f"m{k}": 0.5 + k / 10 + step / 1000 for k in range(4)}, step=step)
        exp.log_metric("auc", 0.8 + step / 1000, step=step)
    exp.save_artifact("labels.json", {"classes": ["a", "b"]})
"""


def run(cwd: Path, *args: str, umask: int | None = None) -> None:
    subprocess.run([sys.executable, *args], cwd=cwd, env=ENV, check=True, timeout=120,
                   preexec_fn=(lambda: os.umask(umask)) if umask is not None else None)


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)


def exp_dirs(repo: Path) -> list[Path]:
    return sorted((repo / ".specweave/increments/0042-churn/experiments").glob("exp-*"))


def test_environment_is_stored_once_and_named_by_hash(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    (repo / "train.py").write_text(TRAIN)
    for name in ("xgboost", "lightgbm"):
        run(repo, "train.py", name)
    envs = list((repo / ".specweave/environments").glob("*.yaml"))
    assert len(envs) == 1, envs  # two runs of one environment: one file
    shared = yaml.safe_load(envs[0].read_text())
    assert shared["packages"]["pyyaml"] and shared["python"] == ".".join(map(str, sys.version_info[:3]))
    for folder in exp_dirs(repo):
        text = (folder / "metadata.yaml").read_text()
        meta = yaml.safe_load(text)
        assert meta["schema_version"] == 3 and meta["environment"] == envs[0].stem
        assert "packages" not in meta and "python" not in meta
        assert len(text.splitlines()) <= 60, text
    # every face still gives the run's packages
    from skill.project import Project

    detail = Project(repo).detail("exp-001")
    assert detail.meta.packages == shared["packages"] and detail.meta.python == shared["python"]
    shown = sw("show-experiment", "exp-001", "--json", cwd=repo)
    assert '"pyyaml"' in shown.stdout and shown.returncode == 0


def test_version_1_folders_still_read_everywhere(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    (repo / "train.py").write_text(TRAIN)
    run(repo, "train.py", "new")
    new = exp_dirs(repo)[0]
    # a folder as version 1 wrote it: the environment inline, no hash
    old = new.parent / "exp-002-old.abcdef"
    old.mkdir()
    for name in ("params.json", "metrics.json"):
        (old / name).write_bytes((new / name).read_bytes())
    (old / "metrics.jsonl").write_bytes(full_log_bytes(new))  # version 1 kept every point in git
    meta = yaml.safe_load((new / "metadata.yaml").read_text())
    meta.update(schema_version=1, id="exp-002-old", uid="abcdef", name="old", python="3.10.4",
                platform="Linux", cpu_count=8, gpus=[{"name": "T4", "memory_total_mb": 15360}],
                packages={"numpy": "1.26.4", "pandas": "2.2.0"})
    meta.pop("environment")
    (old / "metadata.yaml").write_text(yaml.safe_dump(meta))
    from skill.project import Project

    project = Project(repo)
    detail = project.detail("exp-002")
    assert detail.meta.packages == {"numpy": "1.26.4", "pandas": "2.2.0"} and detail.meta.gpus[0].name == "T4"
    assert not detail.problems
    assert {r.id for r in project.experiments("0042")} == {"exp-001-new", "exp-002-old"}
    assert project.compare("0042").best in {"exp-001-new", "exp-002-old"}
    # an edit keeps a version-1 file version 1, environment inline
    project.add_note("exp-002", "still readable")
    again = yaml.safe_load((old / "metadata.yaml").read_text())
    assert again["schema_version"] == 1 and again["packages"] == {"numpy": "1.26.4", "pandas": "2.2.0"}


def test_a_hand_edited_environment_name_never_reads_outside(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    (repo / "train.py").write_text(TRAIN)
    run(repo, "train.py", "a")
    run(repo, "train.py", "b")
    first, second = exp_dirs(repo)
    path = first / "metadata.yaml"
    path.write_text(path.read_text().replace("environment: ", "environment: ../../../../etc/passwd#"))
    key = yaml.safe_load((second / "metadata.yaml").read_text())["environment"]
    (repo / ".specweave/environments" / f"{key}.yaml").unlink()
    from skill.project import Project

    records = {r.id: r for r in Project(repo).experiments("0042")}
    assert any("environment" in p and "metadata.yaml" in p for p in records["exp-001-a"].problems)
    missing = records["exp-002-b"].problems
    assert missing == [f".specweave/environments/{key}.yaml: is named by metadata.yaml but missing "
                       f"(was it committed?)"]
    assert records["exp-002-b"].metrics["auc"] > 0.8  # the run itself still reads


def test_comparison_rows_stay_byte_identical_when_a_run_is_added(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    script = ("import sys\nfrom specweave import track_experiment\n"
              "for i in range(int(sys.argv[1]), int(sys.argv[2])):\n"
              "    with track_experiment(f'run-{i}' if i < 24 else 'a-much-longer-name-than-any-before',"
              " increment='0042-churn') as e:\n"
              "        e.log_params({'depth': i})\n"
              "        e.log_metrics({'auc': 0.7 + i / 1000, 'loss': 1 / (i + 1.2345678)})\n")
    (repo / "many.py").write_text(script)
    run(repo, "many.py", "0", "24")
    before = sw("compare-experiments", "0042", cwd=repo)
    assert before.returncode == 0, before.stderr
    report = repo / ".specweave/increments/0042-churn/experiments/comparison.md"
    old_rows = [line for line in report.read_text().splitlines() if line.startswith("| exp-")]
    assert len(old_rows) == 48  # the metrics table and the params table
    run(repo, "many.py", "24", "25")  # a longer name and one more decimal place
    assert sw("compare-experiments", "0042", cwd=repo).returncode == 0
    new_rows = [line for line in report.read_text().splitlines() if line.startswith("| exp-")]
    assert [row for row in old_rows if row not in new_rows] == []
    assert len(new_rows) == 50


def test_exports_are_kept_out_of_git(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    (repo / "train.py").write_text(TRAIN)
    run(repo, "train.py")
    commit_all(repo, "a run")
    from skill.project import Project

    # a relative path from an agent (MCP) lands in .specweave/exports/, which git ignores
    result = Project(repo).export("0042", "csv", "results.csv", confined=True)
    assert result.path == repo / ".specweave/exports/results.csv" and result.path.is_file()
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    # a path the person names on the command line is theirs: written there, and git sees it
    done = sw("export-experiments", "0042", "--format", "csv", "-o", "results.csv", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == "?? results.csv\n"


def test_files_respect_the_umask(tmp_path: Path) -> None:
    for umask, mode in ((0o022, 0o644), (0o002, 0o664)):
        repo = init_repo(tmp_path / f"repo-{umask:o}")
        (repo / "train.py").write_text(TRAIN)
        run(repo, "train.py", umask=umask)
        run(repo, "-m", "specweave.cli", "init", umask=umask)
        run(repo, "-m", "specweave.cli", "compare-experiments", "0042", umask=umask)
        run(repo, "-m", "specweave.cli", "log-decision", "exp-001", "-r", "only one", umask=umask)
        run(repo, "-m", "specweave.cli", "sync-docs", umask=umask)
        tracked = [p for p in repo.rglob("*") if p.is_file() and ".git" not in p.relative_to(repo).parts[:1]
                   and "cache" not in p.relative_to(repo).parts
                   and "objects" not in p.relative_to(repo).parts]  # read-only by design, never committed
        assert len(tracked) >= 10
        wrong = {str(p.relative_to(repo)): oct(stat.S_IMODE(p.stat().st_mode)) for p in tracked
                 if stat.S_IMODE(p.stat().st_mode) != mode and p.name != "train.py"}
        assert wrong == {}, f"umask {umask:o}"
        assert (repo / ".mcp.json").exists() and (repo / ".claude/skills/experiment-tracker/SKILL.md").exists()


def _clone_work(tmp_path: Path, origin: Path, who: str, runs: list[str]) -> Path:
    clone = tmp_path / who
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    git(clone, "config", "user.email", f"{who}@example.com")
    git(clone, "config", "user.name", who)
    assert sw("init", "--no-skill", cwd=clone).returncode == 0  # registers the merge driver in this clone
    for name in runs:
        run(clone, "train.py", name)
    assert sw("compare-experiments", "0042", cwd=clone).returncode == 0
    decided = sw("log-decision", runs[-1], "-r", f"{who} measured it", cwd=clone)
    assert decided.returncode == 0, decided.stderr
    assert sw("sync-docs", cwd=clone).returncode == 0
    commit_all(clone, f"{who}: runs, decision, docs")
    return clone


def test_two_clones_merge_with_no_conflict_and_one_selected_run(tmp_path: Path) -> None:
    origin = init_repo(tmp_path / "origin")
    git(origin, "config", "receive.denyCurrentBranch", "ignore")
    (origin / "train.py").write_text(TRAIN)
    run(origin, "train.py", "baseline")
    assert sw("init", "--no-skill", cwd=origin).returncode == 0
    assert sw("compare-experiments", "0042", cwd=origin).returncode == 0
    assert sw("log-decision", "baseline", "-r", "first", cwd=origin).returncode == 0
    assert sw("sync-docs", cwd=origin).returncode == 0
    commit_all(origin, "baseline")

    alice = _clone_work(tmp_path, origin, "alice", ["alice-xgb", "alice-lgbm"])
    bob = _clone_work(tmp_path, origin, "bob", ["bob-forest"])  # decides last
    git(alice, "push", "-q", "origin", "main")
    merged = subprocess.run(["git", "pull", "--no-rebase", "--no-edit", "origin", "main"], cwd=bob,
                            capture_output=True, text=True, env=ENV, check=False)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert git(bob, "diff", "--name-only", "--diff-filter=U") == ""
    assert "<<<<<<<" not in "".join(p.read_text() for p in (bob / ".specweave").rglob("*.md"))
    # the latest decision wins, derived from the merged decisions.jsonl: exactly one run is selected
    listed = sw("list-experiments", "0042", "--tag", "selected", "--json", cwd=bob)
    import json

    rows = json.loads(listed.stdout)
    selected = [e["id"] for e in (rows["experiments"] if isinstance(rows, dict) else rows)]
    assert selected == ["exp-002-bob-forest"] or (len(selected) == 1 and "bob-forest" in selected[0]), selected
    # the derived files are whole; a sync brings the docs level with the merged runs
    assert sw("sync-docs", cwd=bob).returncode == 0
    docs = (bob / ".specweave/docs/internal/architecture/ml-experiments.md").read_text()
    assert all(name in docs for name in ("baseline", "alice-xgb", "alice-lgbm", "bob-forest"))
    assert docs.count("SELECTED") == 1
    assert sw("sync-docs", "check", cwd=bob).returncode == 0


def test_a_second_run_of_unchanged_code_changes_only_what_it_adds(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    (repo / "train.py").write_text(TRAIN)
    commit_all(repo, "train")
    for attempt in range(2):
        run(repo, "train.py")
        assert sw("compare-experiments", "0042", cwd=repo).returncode == 0
        assert sw("sync-docs", cwd=repo).returncode == 0
        if attempt == 0:
            commit_all(repo, "first run")
    status = git(repo, "status", "--porcelain", "--untracked-files=all").splitlines()
    changed = sorted(line[3:] for line in status if not line.startswith("??"))
    added = {line[3:].split("/exp-002-")[0] for line in status if line.startswith("??")}
    assert changed == [".specweave/docs/internal/architecture/ml-experiments.md",
                       ".specweave/increments/0042-churn/experiments/comparison.md"], status
    assert added == {".specweave/increments/0042-churn/experiments"}  # its own folder, nothing else new
    diff = git(repo, "diff", "-U0", "--", ".specweave/increments/0042-churn/experiments/comparison.md")
    removed_rows = [line for line in diff.splitlines() if line.startswith("-| exp-")]
    assert removed_rows == []  # the first run's rows are untouched
