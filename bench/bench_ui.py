"""The views, side by side with MLflow's tracking server answering its own UI's requests.

Store: RUNS runs x POINTS points of one metric (plus params and a final metric), the same data in
both. Figures:
  1. runs-table data: our `sw-ml ui` server's /api/table vs MLflow's POST /api/2.0/mlflow/runs/search
     (paged at 1,000 runs as its UI does)
  2. curves of 20 selected runs: /api/curves vs 20 GET /api/2.0/mlflow/metrics/get-history calls
  3. time until the curves of 100 runs are drawn in headless Chromium (our page), target < 2 s
  4. `sw-ml report` of 100 runs x 1,000 points: size (<= 5 MB) and time (< 2 s)

    python bench/bench_ui.py            # RUNS=1000 POINTS=1000; BENCH_UI_RUNS=200 for a quick look
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import REPO, clean, row, scratch  # noqa: E402

RUNS = int(os.environ.get("BENCH_UI_RUNS", "1000"))
POINTS = int(os.environ.get("BENCH_UI_POINTS", "1000"))
INC = "0042-views-bench"
METRIC = "val/loss"


def curve(i: int) -> list[float]:
    return [1.0 / (1 + s / (50 + i % 37)) + 0.01 * math.sin(s / 7 + i) for s in range(POINTS)]


def make_store(root: Path) -> None:
    from skill.tracking.track import track_experiment

    subprocess.run(["git", "init", "-q", str(root)], check=True)
    for i in range(RUNS):
        with track_experiment(f"run-{i}", increment=INC, root=root, system_metrics=False) as exp:
            exp.log_params({"lr": 10 ** -(1 + i % 4), "depth": 2 + i % 7, "opt": ["adam", "sgd"][i % 2]})
            for step, value in enumerate(curve(i)):
                exp.log_metric(METRIC, value, step=step)
            exp.log_metric("accuracy", 0.7 + (i % 100) / 400)


def fill_mlflow(db: Path) -> list[str]:
    """The same runs logged straight into the server's sqlite store (log_batch, no HTTP: fast)."""
    import logging

    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    client = MlflowClient(f"sqlite:///{db}")
    exp_id = client.create_experiment("views-bench")
    ids = []
    now = int(time.time() * 1000)
    for i in range(RUNS):
        run = client.create_run(exp_id, run_name=f"run-{i}")
        params = [Param("lr", str(10 ** -(1 + i % 4))), Param("depth", str(2 + i % 7)), Param("opt", ["adam", "sgd"][i % 2])]
        metrics = [Metric(METRIC, v, now + s, s) for s, v in enumerate(curve(i))]
        metrics.append(Metric("accuracy", 0.7 + (i % 100) / 400, now, 0))
        for start in range(0, len(metrics), 1000):  # log_batch takes 1,000 metrics at a time
            client.log_batch(run.info.run_id, metrics=metrics[start:start + 1000], params=params if start == 0 else [])
        client.set_terminated(run.info.run_id)
        ids.append(run.info.run_id)
    return ids


def timed(fn, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def get(url: str, headers: dict[str, str] | None = None) -> bytes:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=600) as r:
        return r.read()


def post(url: str, body: dict) -> bytes:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return r.read()


def start_ui(root: Path) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "specweave.cli", "ui", "--port", "0", "--root", str(root)],
                            env=env, stdout=subprocess.PIPE, text=True)
    for _ in range(5):
        line = proc.stdout.readline()  # type: ignore[union-attr]
        if m := re.search(r"(http://127\.0\.0\.1:\d+/)\?token=(\S+)", line):
            return proc, m.group(0)
    proc.kill()
    raise RuntimeError("sw-ml ui printed no URL")


def main() -> int:
    sys.path.insert(0, str(REPO / "tests"))
    from mlflow_server import running_mlflow_server

    base = scratch("ui")
    root = base / "project"
    root.mkdir()
    try:
        start = time.perf_counter()
        make_store(root)
        print(f"store: {RUNS} runs x {POINTS} points in {time.perf_counter() - start:.1f} s")
        proc, url = start_ui(root)
        try:
            token = url.split("token=")[1]
            api = url.split("?")[0] + "api/"
            auth = {"Authorization": f"Bearer {token}"}
            table = json.loads(get(api + "table", auth))
            keys = [r["key"] for r in table["rows"]]
            chosen = ",".join(keys[:20])
            (base / "mlflow").mkdir()
            start = time.perf_counter()
            ids = fill_mlflow(base / "mlflow" / "mlflow.db")
            print(f"MLflow: the same data logged with log_batch in {time.perf_counter() - start:.1f} s")
            with running_mlflow_server(base / "mlflow") as uri:
                search = f"{uri}/api/2.0/mlflow/runs/search"
                exp_ids = [json.loads(post(search, {"experiment_ids": ["0"], "max_results": 1}))]  # warm
                exp_id = json.loads(get(f"{uri}/api/2.0/mlflow/experiments/get-by-name?experiment_name=views-bench"))[
                    "experiment"]["experiment_id"]
                del exp_ids

                def mlflow_table() -> None:
                    token_ = None
                    while True:
                        body = {"experiment_ids": [exp_id], "max_results": 1000, "order_by": ["attributes.start_time DESC"]}
                        if token_:
                            body["page_token"] = token_
                        page = json.loads(post(search, body))
                        token_ = page.get("next_page_token")
                        if not token_:
                            break

                def mlflow_curves() -> None:
                    for run_id in ids[:20]:
                        get(f"{uri}/api/2.0/mlflow/metrics/get-history?run_id={run_id}&metric_key={METRIC}"
                            f"&max_results=25000")

                theirs_table = timed(mlflow_table)
                theirs_curves = timed(mlflow_curves)
            ours_table = timed(lambda: get(api + "table", auth))
            ours_curves = timed(lambda: get(api + f"curves?runs={chosen}&metric={METRIC}", auth))
            print(row(f"runs-table data, {RUNS} runs", ours_table, theirs_table, "s", 5))
            print(row(f"curves of 20 runs x {POINTS} points", ours_curves, theirs_curves, "s", 5))
            draw = time_to_draw(url)
            if draw is not None:
                verdict = "OK" if draw < 2 else "ABOVE target 2 s"
                print(f"{'curves of 100 runs drawn in headless Chromium':<48} {draw:.2f} s  (target < 2 s) {verdict}")
        finally:
            proc.terminate()
            proc.wait(timeout=20)
        report_figures(base)
    finally:
        clean(base)
    return 0


def time_to_draw(url: str) -> float | None:
    """Navigation start to the 100th line on the canvas, the page's own clock, best of 3."""
    chromium = shutil.which("chromium")
    if chromium is None:
        print("curves drawn in Chromium: skipped (no chromium)")
        return None
    from playwright.sync_api import sync_playwright

    base, token = url.split("?token=")
    page_url = f"{base}?select=100&token={token}"
    best = math.inf
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium)
        try:
            for _ in range(3):
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(page_url)
                page.wait_for_function("() => window.swCharts.curves && window.swCharts.curves.series >= 100",
                                       timeout=120_000)
                total = page.evaluate("() => performance.now()")
                best = min(best, total / 1000)
                page.close()
        finally:
            browser.close()
    return best if best < math.inf else None


def report_figures(base: Path) -> None:
    """`sw-ml report` of 100 runs x POINTS points: bytes and seconds."""
    global RUNS
    saved, RUNS = RUNS, 100
    root = base / "report"
    root.mkdir()
    try:
        make_store(root)
        from skill.project import Project

        best = math.inf
        size = 0
        for _ in range(3):
            result = Project(root).write_report(None, base / "r.html")
            best, size = min(best, result.seconds), result.bytes
        ok = "OK" if size <= 5e6 and best < 2 else "OVER target"
        print(f"{'sw-ml report, 100 runs x ' + str(POINTS) + ' points':<48} {size / 1e6:.2f} MB in {best:.2f} s "
              f"(targets <= 5 MB, < 2 s) {ok}")
    finally:
        RUNS = saved


if __name__ == "__main__":
    sys.exit(main())
