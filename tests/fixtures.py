"""The tests' one helper module: the checkout, `sw-ml` and git in subprocesses, and every sample store.

Sample stores are built one way: `sample_store(root, kind)` (see KINDS), through the real tracking API
where the test reads what a run writes, or with the record writers below (`make_increment`,
`write_experiment`, `write_decision`: the tracker's own models and dumpers, with fixed ids, uids and
timestamps) where a snapshot needs the same bytes every run. Pytest fixtures over these are in
conftest.py; no test file imports another. The focused helper modules beside this one are imported as
`tests.<name>` too: mcp_fixtures (MCP calls and servers), repro_scenario, import_sources, mlflow_server,
npm_tools, claude_cli.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

# The product's modules are imported inside the builders that use them: a test that only needs REPO or
# `sw` loads none of the package into the pytest process.
REPO = Path(__file__).resolve().parent.parent


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


def sw(*args: str | bytes, cwd: Path, text: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    """`sw-ml ARGS` in a real subprocess with this checkout importable, outside any developer's project."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1"}
    for var in ("SPECWEAVE_ROOT", "CLAUDE_PROJECT_DIR"):
        env.pop(var, None)
    return subprocess.run([sys.executable, "-m", "specweave.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=text, timeout=timeout, check=False)


def can_mount_tmpfs() -> str | None:
    """None where a private mount namespace can mount a small tmpfs (a real full disk); else why not."""
    if shutil.which("unshare") is None:
        return "unshare is not installed"
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                           "mount -t tmpfs -o size=64k tmpfs /mnt"], capture_output=True, text=True)
    return None if done.returncode == 0 else f"cannot mount a tmpfs here: {done.stderr.strip()}"


def init_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "dev@example.com")
    git(path, "config", "user.name", "Dev")
    git(path, "config", "commit.gpgsign", "false")
    (path / "train.py").write_text("print('train')\n")
    git(path, "add", "-A")
    git(path, "commit", "-qm", "init")
    return path


# -- sample stores ----------------------------------------------------------------------------------
INC = "0042-recommendation-model"
OTHER = "0043-ranking"
HOSTILE = "0044-hostile"
THREE = ("0001-baseline-study", "0002-feature-work", "0003-model-selection")
INC_DIR = Path(".specweave", "increments", INC)  # `sample_store(...) / INC_DIR`: the increment's folder


def sample_store(root: Path, kind: str = "project") -> Path:
    """Build the sample store `kind` (one of KINDS) under `root` and return `root`."""
    try:
        build = KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown sample store {kind!r}: one of {', '.join(KINDS)}") from None
    build(root)
    return root


def png(width: int = 4, height: int = 3) -> bytes:
    """A real PNG (red pixels), small enough to write by hand."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _views_store(root: Path) -> Path:
    """Three gradient-boosting runs with a test log-loss curve (the issue's: bottoms at 0.106 at step 45,
    ends at 0.165), a PNG artifact, a decision."""
    from skill.tracking.track import track_experiment

    for name, depth, lr in (("gbm-a", 3, 0.1), ("gbm-b", 6, 0.1), ("gbm-c", 6, 0.3)):
        with track_experiment(name, increment=INC, root=root) as exp:
            exp.log_params({"max_depth": depth, "learning_rate": lr, "booster": "gbtree" if depth == 3 else "dart"})
            for step in range(100):
                loss = 0.106 + (45 - step) ** 2 / 20000 + (0.0 if name == "gbm-a" else 0.01 * depth * lr)
                if name == "gbm-a" and step > 45:
                    loss = 0.106 + (step - 45) * (0.165 - 0.106) / 54
                exp.log_metric("test/logloss", loss, step=step)
            exp.log_metric("accuracy", {"gbm-a": 0.91, "gbm-b": 0.88, "gbm-c": 0.86}[name])
            exp.save_artifact("confusion_matrix.png", png())
    return root


def _project_store(root: Path) -> Path:
    """Experiments logged through the real tracking API into `root` (a git repository)."""
    from skill.tracking.track import track_experiment

    with track_experiment("baseline", increment=INC, root=root) as exp:
        exp.log_params({"strategy": "majority", "random_seed": 1})
        exp.log_metric("accuracy", 0.65)
        for step in range(20):
            exp.log_metric("loss", 1.0 / (step + 1))
        exp.log_note("Baseline: majority class")
    with track_experiment("xgboost", increment=INC, root=root) as exp:
        exp.log_params({"n_estimators": 100, "max_depth": 6, "random_seed": 1})
        for step in range(1000):
            exp.log_metric("loss", 1.0 / (step + 1) + (5.0 if step == 500 else 0.0))
        exp.log_metric("accuracy", 0.87)
        exp.log_metric("auc", math.nan)
        exp.save_artifact("summary.json", {"best_iteration": 90})
    with track_experiment("lightgbm", increment=INC, root=root) as exp:
        exp.log_params({"n_estimators": 200, "max_depth": 4})
        exp.log_metric("accuracy", 0.86)
        exp.add_tag("production-candidate")
    with track_experiment("neural-net", increment=INC, root=root) as exp:
        exp.log_params({"layers": 3})
        exp.log_metric("accuracy", 0.5)
        exp.set_status("failed")
    with track_experiment("popularity", increment=OTHER, root=root) as exp:
        exp.log_metric("accuracy", 0.18)
    return root


def _hand_written(inc_path: Path, folder: str, metadata: str, *, params: str | None = None,
                  metrics: str | None = None, log: str | None = None) -> None:
    """An experiment folder written by hand (or by another tool), not by the tracker."""
    path = inc_path / "experiments" / folder
    path.mkdir(parents=True)
    (path / "metadata.yaml").write_text(metadata, encoding="utf-8")
    for name, body in (("params.json", params), ("metrics.json", metrics), ("metrics.jsonl", log)):
        if body is not None:
            (path / name).write_text(body, encoding="utf-8")


def _hostile_store(root: Path) -> Path:
    """the "project" store plus an increment of what people's stores hold: hand-edited timestamps
    without a zone or with an offset, NaN and infinities, unicode everywhere, damaged files, a crashed
    run, extra keys, a decision line with a naive timestamp."""
    _project_store(root)
    inc = root / ".specweave" / "increments" / HOSTILE
    (inc / "experiments").mkdir(parents=True)
    (inc / "spec.md").write_text("---\ntitle: Hostile – ünïcödé ✅\n---\n", encoding="utf-8")
    _hand_written(inc, "exp-001-naive.aaaaaa", (
        "id: exp-001-naive\nuid: aaaaaa\nname: naive\nincrement: 0044-hostile\nstatus: completed\n"
        "started: 2026-01-02 03:04:05\nended: 2026-01-02 04:00:00.5\nheartbeat: 2026-01-02 04:00:00\n"
        "notes:\n- ts: 2026-01-03 10:00:00\n  text: edited by hand\n"
        "reviewed_on: 2026-01-05 09:00:00\nowner: data-team\n"),
        params='{"lr": 0.1, "depth": 3}', metrics='{"auc": 0.8, "loss": "NaN"}',
        log='{"key": "auc", "step": 0, "ts": 1.0, "value": 0.8}\n{"key": "loss", "step": 0, "ts": 1.0, "value": "NaN"}\n')
    _hand_written(inc, "exp-002-offset.bbbbbb", (
        "id: exp-002-offset\nuid: bbbbbb\nname: offset\nincrement: 0044-hostile\nstatus: completed\n"
        "started: 2026-01-02T03:04:05+02:00\nended: 2026-01-02T03:34:05-05:30\ntags: [\"ünï\", \"模型\", \"emoji 🚀\"]\n"
        "description: \"RTL \\u202e and zero-width \\u200b, quotes \\\" and pipes |\"\n"),
        params='{"lr": "1e-3", "note": "ünïcödé"}', metrics='{"auc": "Infinity", "loss": "-Infinity"}',
        log="".join(f'{{"key": "loss", "step": {i}, "ts": {i}.0, "value": {1 / (i + 1)}}}\n' for i in range(300))
        + '{"key": "loss", "step": 300, "ts": 300.0, "value": "-Infinity"}\nnot json at all\n')
    _hand_written(inc, "exp-003-crashed.cccccc", (
        "id: exp-003-crashed\nuid: cccccc\nname: crashed\nincrement: 0044-hostile\nstatus: running\n"
        "started: 2020-01-01T00:00:00Z\nheartbeat: 2020-01-01T00:01:00Z\npid: 999999\nhost: elsewhere\n"),
        log='{"key": "loss", "step": 0, "ts": 1.0, "value": 1.0}\n')
    _hand_written(inc, "exp-004-damaged.dddddd", "id: [unclosed\n  : nope", params="{not json",
                  metrics='{"auc": 0.5')
    _hand_written(inc, "exp-005-badtime.eeeeee", (
        "id: exp-005-badtime\nuid: eeeeee\nname: badtime\nincrement: 0044-hostile\nstatus: completed\n"
        "started: not a time\n"))
    (inc / "experiments" / "decisions.jsonl").write_text(
        '{"schema_version": 1, "ts": "2026-01-20 12:00:00", "increment": "0044-hostile", '
        '"selected": "exp-001-naive", "rationale": "hand-written, naive timestamp", "alternatives": [], '
        '"metrics": {"auc": "NaN"}}\n', encoding="utf-8")
    return root


def _three_increments_store(root: Path) -> Path:
    """Three increments, each with exp-001-baseline and exp-002-xgboost (the same bare ids in every
    one), the newest (0003) the default; 0001 and 0002, not 0003, have exp-003-tuned."""
    from skill.tracking.track import track_experiment

    for n, inc in enumerate(THREE):
        for slug, acc in (("baseline", 0.6 + n / 100), ("xgboost", 0.8 + n / 100)):
            with track_experiment(slug, increment=inc, root=root) as exp:
                exp.log_params({"model": slug, "round": n})
                exp.log_metric("accuracy", acc)
    for inc in THREE[:2]:
        with track_experiment("tuned", increment=inc, root=root) as exp:
            exp.log_metric("accuracy", 0.5)
    return root


T0 = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)


def make_increment(root: Path, inc_id: str, title: str | None = None) -> Path:
    path = root / ".specweave" / "increments" / inc_id
    (path / "experiments").mkdir(parents=True, exist_ok=True)
    if title:
        (path / "spec.md").write_text(f"---\ntitle: {title}\n---\n\n# {title}\n", encoding="utf-8")
    return path


def write_experiment(
    inc_path: Path,
    number: int,
    slug: str,
    *,
    params: dict[str, Any] | None = None,
    metrics: dict[str, float] | None = None,
    status: str = "completed",
    duration_s: float | None = 10.0,
    description: str = "",
    tags: list[str] | None = None,
    notes: list[str] | None = None,
    parent: str | None = None,
    stage: str | None = None,
    stage_order: int | None = None,
    uid: str | None = None,
) -> Path:
    from skill.schemas.records import ExperimentMeta, Note
    from skill.storage.encoding import dumps_json, dumps_jsonl_record, dumps_yaml, encode_float

    exp_id = f"exp-{number:03d}-{slug}"
    uid = uid or f"u{number:05d}"
    folder = inc_path / "experiments" / f"{exp_id}.{uid}"
    folder.mkdir(parents=True)
    started = T0 + timedelta(minutes=number)
    meta = ExperimentMeta(
        id=exp_id, uid=uid, name=slug, increment=inc_path.name, status=status, description=description,
        tags=tags or [], started=started, ended=started + timedelta(seconds=duration_s or 0),
        duration_s=duration_s, heartbeat=started, host="test-host", pid=1, parent=parent, stage=stage,
        stage_order=stage_order, notes=[Note(ts=started, text=t) for t in notes or []],
        python="3.11.7", platform="Linux", packages={"numpy": "2.0.0", "pandas": "3.0.0"},
    )
    (folder / "metadata.yaml").write_text(dumps_yaml(meta.model_dump(mode="json")), encoding="utf-8")
    (folder / "params.json").write_text(dumps_json(params or {}), encoding="utf-8")
    metrics = metrics or {}
    (folder / "metrics.json").write_text(dumps_json({k: encode_float(v) for k, v in metrics.items()}),
                                         encoding="utf-8")
    lines = "".join(dumps_jsonl_record({"key": k, "step": 0, "ts": started.timestamp(), "value": encode_float(v)})
                    for k, v in metrics.items())
    (folder / "metrics.jsonl").write_text(lines, encoding="utf-8")
    return folder


def write_decision(inc_path: Path, selected: str, rationale: str, *, alternatives: list[str] | None = None,
                   author: str | None = "ml-lead@example.com", day: int = 20) -> None:
    path = inc_path / "experiments" / "decisions.jsonl"
    record = {"schema_version": 1, "ts": f"2026-01-{day:02d}T12:00:00Z", "increment": inc_path.name,
              "selected": selected, "selected_dir": None, "rationale": rationale,
              "alternatives": alternatives or [], "metrics": {}, "author": author}
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, sort_keys=True) + "\n")


SEED_COMPARISON = [
    # slug, accuracy, precision, recall, f1, training time (s)
    ("baseline", 0.65, 0.60, 0.55, 0.57, 2.0),
    ("xgboost", 0.87, 0.85, 0.83, 0.84, 45.0),
    ("lightgbm", 0.86, 0.84, 0.82, 0.83, 32.0),
    ("neural-net", 0.85, 0.83, 0.81, 0.82, 320.0),
]


def _seed_comparison_store(root: Path) -> Path:
    """The seed's 'Experiment Comparison' example as a store: increment 0042, four experiments."""
    inc = make_increment(root, "0042-recommendation-model", "Recommendation Model")
    for number, (slug, acc, prec, rec, f1, secs) in enumerate(SEED_COMPARISON, 1):
        write_experiment(inc, number, slug, params={"model": slug, "random_state": 42},
                         metrics={"accuracy": acc, "precision": prec, "recall": rec, "f1": f1}, duration_s=secs)
    return inc


def _seed_living_docs_store(root: Path) -> Path:
    """The seed's 'Living Docs Integration' example: seven experiments, exp-003 selected."""
    inc = make_increment(root, "0042-recommendation-model", "Recommendation Model")
    rows = [
        ("baseline", "Random classifier", 0.12, {"strategy": "uniform"}),
        ("popularity", "Popularity baseline", 0.18, {"strategy": "popularity"}),
        ("xgboost", "XGBoost classifier", 0.26,
         {"n_estimators": 200, "max_depth": 6, "learning_rate": 0.1, "subsample": 0.8}),
        ("lightgbm", "LightGBM classifier", 0.25, {"n_estimators": 300, "num_leaves": 31}),
        ("random-forest", "Random forest", 0.22, {"n_estimators": 500}),
        ("logistic", "Logistic regression", 0.20, {"C": 1.0}),
    ]
    for number, (slug, description, acc, params) in enumerate(rows, 1):
        write_experiment(inc, number, slug, params=params, metrics={"acc": acc, "acc_std": 0.02},
                         description=description, duration_s=30.0 + number)
    write_experiment(inc, 7, "neural-net", params={"batch_size": 1024}, status="failed", duration_s=600.0,
                     description="Two-tower neural net",
                     notes=["FAILED: RuntimeError: CUDA out of memory",
                            "Reason: Out of memory, need smaller batch size"])
    write_decision(inc, "exp-003-xgboost",
                   "XGBoost chosen for:\n- Best accuracy (0.26 vs baseline 0.18, +44% improvement)\n"
                   "- Fast inference (<50ms)\n- Good explainability (SHAP values)\n"
                   "- Stable across cross-validation (std=0.02)",
                   alternatives=["exp-004-lightgbm"])
    return inc


KINDS = {
    "views": _views_store,  # three GBM runs in INC, a test log-loss curve, a PNG artifact
    "project": _project_store,  # INC's four runs (curves, an artifact, a tag, a failed run) and OTHER's one
    "hostile": _hostile_store,  # "project" plus HOSTILE: hand-edited, damaged and crashed runs
    "three-increments": _three_increments_store,  # THREE, the same bare ids in each
    "seed-comparison": _seed_comparison_store,  # the seed's comparison example, fixed timestamps
    "seed-living-docs": _seed_living_docs_store,  # the seed's living-docs example, fixed timestamps
}


def clone_runs(root: Path, increment: str, count: int) -> list[str]:
    """`count` runs in `increment`: its one logged run, copied with their own ids and accuracies
    (a store of 60 or 500 runs in a second, for sizes; not a timing fixture)."""
    import json
    import shutil

    import yaml

    experiments = root / ".specweave" / "increments" / increment / "experiments"
    [first] = [p for p in experiments.iterdir() if p.is_dir()]
    meta = yaml.safe_load((first / "metadata.yaml").read_text(encoding="utf-8"))
    metrics = json.loads((first / "metrics.json").read_text(encoding="utf-8"))
    made = [meta["id"]]
    for n in range(2, count + 1):
        uid = f"{n:06d}".replace("0", "q")
        exp_id = f"exp-{n:03d}-{meta['name']}"
        folder = experiments / f"{exp_id}.{uid}"
        shutil.copytree(first, folder)
        (folder / "metadata.yaml").write_text(yaml.safe_dump({**meta, "id": exp_id, "uid": uid}, sort_keys=False),
                                              encoding="utf-8")
        varied = {k: (v + (n % 97) / 1000 if isinstance(v, float) else v) for k, v in metrics.items()}
        (folder / "metrics.json").write_text(json.dumps(varied), encoding="utf-8")
        made.append(exp_id)
    return made


# -- what must not change outside a store -----------------------------------------------------------
SECRET = "OUTSIDE-SECRET-7f3a"


def tree_outside_store(root: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime_ns) of every file under `root` outside `.specweave/` and `.git/`."""
    found = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts and rel.parts[0] in (".specweave", ".git"):
            continue
        if path.is_file() or path.is_symlink():
            stat = path.lstat()
            found[rel.as_posix()] = (stat.st_size, stat.st_mtime_ns)
    return found


def replace_with_link(path: Path, target: Path) -> None:
    """What a hostile clone commits: `path` (a file or a folder) replaced by a symbolic link to `target`."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target, target_is_directory=target.is_dir())


def snapshot(tmp: Path, clone: Path) -> dict[str, str]:
    """sha256 of every file, and every folder, under `tmp` but the clone's own store and git folder."""
    found: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(tmp, followlinks=False):
        here = Path(dirpath)
        if here == clone:
            dirnames[:] = [d for d in dirnames if d not in (".specweave", ".git")]
        for name in dirnames:
            found[str((here / name).relative_to(tmp)) + "/"] = "dir"
        for name in filenames:
            path = here / name
            rel = str(path.relative_to(tmp))
            found[rel] = "link:" + os.readlink(path) if path.is_symlink() else hashlib.sha256(
                path.read_bytes()).hexdigest()
    return found


# -- the dashboard (`sw-ml ui`) and the browser --------------------------------------------------------
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def start_ui(project: Path) -> tuple[subprocess.Popen, str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1", "HOME": str(project.parent / "home")}
    proc = subprocess.Popen([sys.executable, "-m", "specweave.cli", "ui", "--port", "0", "--root", str(project)],
                            cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for _ in range(5):
        line = proc.stdout.readline()
        if match := re.search(r"(http://127\.0\.0\.1:\d+/)\?token=(\S+)", line):
            return proc, match.group(1), match.group(2)
    proc.kill()
    pytest.fail(f"sw-ml ui printed no URL: {proc.stderr.read() if proc.stderr else ''}")


@contextlib.contextmanager
def paused_run(project: Path, script: str) -> Iterator[Callable[[], None]]:
    """A training `script` run in its own process until it prints `first` and waits on stdin (a run
    caught mid-training); yields the call that lets it go on. Killed at the end whatever happened."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1"}
    run = subprocess.Popen([sys.executable, "-c", script], cwd=project, env=env, stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)

    def resume() -> None:
        assert run.stdin is not None
        run.stdin.write("go\n")
        run.stdin.flush()

    try:
        assert run.stdout is not None and run.stdout.readline().strip() == "first"
        yield resume
    finally:
        run.kill()
        run.wait(timeout=10)


def open_page(browser: object, url: str) -> object:
    page = browser.new_page(viewport={"width": 1300, "height": 1000})  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    page.goto(url)
    page.wait_for_function("() => document.body.dataset.curves !== undefined", timeout=20_000)
    return page
