"""An import killed with SIGKILL and run again ends with every source run once and every point once: runs are
built in the git-ignored cache and renamed into place whole, and the next import clears what a dead one left."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from skill.exchange.importer import import_runs
from skill.project import Project
from skill.storage.run_metrics import read_metric_points
from tests.fixtures import REPO, init_repo
from tests.import_sources import csv_source, mlflow_source, tensorboard_source, wandb_source


def _source(kind: str, base: Path) -> str:
    """A source whose runs each take a while to import, so the kill lands mid-way."""
    if kind == "mlflow":
        pytest.importorskip("mlflow")
        mlflow_source(base, str(base / "mlruns"), runs=4, points=4_000, file_store=True)
        return str(base / "mlruns")
    if kind == "wandb":
        pytest.importorskip("wandb")
        wandb_source(base, runs=3, steps=1_500)
        return str(base)
    if kind == "tensorboard":
        pytest.importorskip("tensorboard")
        tensorboard_source(base / "logs", runs=3, points=4_000)
        return str(base / "logs")
    csv_source(base / "big.csv", rows=40_000)
    return str(base / "big.csv")


def _runs(project: Path) -> dict[str, list[tuple[str, int, float, float]]]:
    """{source run id: every point, sorted} of the imported runs; a run imported twice would fail here."""
    out: dict[str, list[tuple[str, int, float, float]]] = {}
    for rec in Project(project).experiments(all_increments=True):
        assert rec.meta is not None, (rec.path, rec.problems, sorted(p.name for p in Path(rec.path).iterdir()))
        run_id = rec.meta.origin["run_id"]
        assert run_id not in out, f"{run_id} imported twice"
        points, bad = read_metric_points(Path(rec.path))
        assert bad == [] and rec.problems == []
        out[run_id] = sorted((p.key, p.step, p.value, p.ts) for p in points)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["mlflow", "wandb", "tensorboard", "csv"])
def test_sigkill_mid_import_then_again_duplicates_nothing(kind: str, tmp_path: Path) -> None:
    base = tmp_path / "source"
    base.mkdir()
    source = _source(kind, base)
    project = init_repo(tmp_path / "project")
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1", "HOME": str(tmp_path)}
    said = tmp_path / "import.out"  # a file, not a pipe: nobody reads a pipe while the loop below watches
    with said.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "specweave.cli", "--root", str(project), "import", kind,
                                 source], env=env, stdout=out, stderr=subprocess.STDOUT)
    staging = project / ".specweave" / "cache" / "import"
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            building = [p for p in staging.glob("*") if not p.name.endswith("-download")] if staging.is_dir() else []
            done = list((project / ".specweave" / "increments").glob("*/experiments/exp-*"))
            if building and (done or kind == "csv"):  # mid-run, with some runs whole already (a CSV is one run)
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.002)
    finally:
        returncode = proc.wait(timeout=60)
    assert returncode == -signal.SIGKILL, (f"the import ended (exit {returncode}) before it could be killed mid-way:\n"
                                           f"{said.read_text(errors='replace')[-3000:]}")
    # The kill lands either inside a run (a half-built one is left, out of the store's sight) or, by a few
    # microseconds, between two runs: either way the import was cut with runs still to come.
    half_built = list(staging.iterdir())
    cut = _runs(project)  # what a reader sees meanwhile: whole runs only

    report = import_runs(project, kind, source)
    assert half_built or report.imported > 0, "the kill did not cut the import"
    assert report.damaged == 0 and report.imported + report.skipped == len(report.runs)
    assert report.skipped == len(cut) and (cut or kind == "csv")
    assert list(staging.iterdir()) == []  # the dead import's leftovers are gone

    clean = init_repo(tmp_path / "clean")
    import_runs(clean, kind, source)
    assert _runs(project) == _runs(clean)  # every run once, every point once


def test_no_moment_of_an_import_shows_a_run_folder_without_its_metadata(tmp_path: Path) -> None:
    """The store never holds a run folder an import has not finished: at each moment a run is being built
    (watched at every call into the writer as it runs), each folder in experiments/ is a whole run. A SIGKILL
    at any of them leaves only the staging folder, which the next import removes."""
    import sys as _sys

    from skill.exchange import writer

    csv_source(tmp_path / "runs.csv", rows=50)
    project = init_repo(tmp_path / "project")
    seen: list[list[str]] = []

    def watch(frame: object, event: str, _arg: object) -> None:
        if event == "call" and frame.f_code.co_filename == writer.__file__:  # type: ignore[attr-defined]
            folders = (project / ".specweave" / "increments").glob("*/experiments/*")
            seen.append([f.name for f in folders if not (f / "metadata.yaml").is_file()])

    _sys.setprofile(watch)
    try:
        report = import_runs(project, "csv", str(tmp_path / "runs.csv"))
    finally:
        _sys.setprofile(None)
    assert report.imported == 1 and len(seen) > 10
    assert all(not partial for partial in seen), [p for p in seen if p]


FULL_STORE = r"""
set -e
mount -t tmpfs -o size=512k tmpfs "$STORE"
set +e
"$PY" -m specweave.cli --root "$PROJECT" import csv "$SOURCE" > "$OUT/first.out" 2> "$OUT/first.err"
echo $? > "$OUT/first.rc"
mount -o remount,size=64m "$STORE"    # space returns
"$PY" -m specweave.cli --root "$PROJECT" import csv "$SOURCE" > "$OUT/again.out" 2> "$OUT/again.err"
echo $? > "$OUT/again.rc"
"$PY" -c "from tests.test_import_resume import _runs; from pathlib import Path; import json, sys
print(json.dumps({k: len(v) for k, v in _runs(Path(sys.argv[1])).items()}))" "$PROJECT" > "$OUT/runs.json"
ls -A "$STORE/cache/import" > "$OUT/staging" 2>/dev/null
umount "$STORE"
"""


def test_a_full_store_stops_the_import_with_its_error_and_the_same_import_later_finishes(tmp_path: Path) -> None:
    """A store that fills up mid-import is the store's failure, not the source run's: one line saying the
    disk is full and where the import stopped (not a `damaged` source run, exit 1), and once space returns,
    the same import brings every run in once, leaving no staging behind. A real full disk: a tmpfs."""
    from tests.fixtures import can_mount_tmpfs

    why = can_mount_tmpfs()
    if why:
        pytest.skip(why)
    csv_source(tmp_path / "big.csv", rows=40_000)
    project = init_repo(tmp_path / "project")
    store = project / ".specweave"
    store.mkdir(exist_ok=True)
    out = tmp_path / "out"
    out.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1", "HOME": str(tmp_path), "PY": sys.executable,
           "PROJECT": str(project), "STORE": str(store), "SOURCE": str(tmp_path / "big.csv"), "OUT": str(out)}
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", FULL_STORE], env=env,
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    first_err = (out / "first.err").read_text()
    assert (out / "first.rc").read_text().strip() == "1", first_err
    assert "No space left on device" in first_err and "the import stopped at csv run" in first_err, first_err
    assert "damaged" not in (out / "first.out").read_text() + first_err
    assert len(first_err.strip().splitlines()) == 1 and "Traceback" not in first_err
    assert (out / "again.rc").read_text().strip() == "0", (out / "again.err").read_text()
    clean = init_repo(tmp_path / "clean")
    import_runs(clean, "csv", str(tmp_path / "big.csv"))
    assert json.loads((out / "runs.json").read_text()) == {k: len(v) for k, v in _runs(clean).items()}
    assert (out / "staging").read_text().strip() == ""
