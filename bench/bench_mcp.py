"""MCP server benchmark: cold start and show_experiment latency, side by side with a bare SDK server.

    .venv/bin/python bench/bench_mcp.py [--experiments 1000] [--starts 15] [--calls 300] [--mlflow]

Both servers are real processes spoken to over stdio with raw JSON-RPC lines
(no client library in the timing), alternating runs so that the machine's
noise hits both alike:

1. cold start: from spawning the process to the `initialize` answer, for
   `python -m mcp_server` on the store below and for a bare `MCPServer` with
   one trivial tool (target: within 1.15x); `sw-ml serve` is shown too, and
   the time on to the first `tools/list` answer (the server registers its
   tools, building their schemas, on that first request);
2. p50 latency over stdio of `show_experiment` (no increment given: the id is
   looked up across the store) on a store of N experiments, against the bare
   server's trivial tool (target: at most 3x).

With --mlflow, the same lookup is timed in MLflow for reference: `get_run`
plus `get_metric_history` on a sqlite store of N runs, in process (no
protocol at all), so the ratio shows what the MCP hop costs next to it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, clean, scratch  # noqa: E402

BARE = '''
from mcp.server.mcpserver import MCPServer

server = MCPServer("bare")


@server.tool()
async def ping() -> str:
    """Answer pong."""
    return "pong"


server.run("stdio")
'''

INIT = {"jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "bench", "version": "0"}}}


def build_store(root: Path, count: int) -> str:
    """N experiments in one increment: one logged through the API, the rest cloned with their own ids."""
    import yaml

    env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1"}
    code = (
        "from specweave import track_experiment\n"
        "with track_experiment('run', increment='0001-bench') as exp:\n"
        "    exp.log_params({f'p{i}': i for i in range(10)})\n"
        "    for step in range(100):\n"
        "        exp.log_metrics({'loss': 1 / (step + 1), 'accuracy': step / 100}, step=step)\n"
        "    exp.save_artifact('notes.txt', 'bench')\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=root, env=env, check=True)
    experiments = root / ".specweave" / "increments" / "0001-bench" / "experiments"
    [first] = experiments.iterdir()
    meta = yaml.safe_load((first / "metadata.yaml").read_text())
    for n in range(2, count + 1):
        uid = f"{n:06d}"[-6:].replace("0", "a")
        folder = experiments / f"exp-{n:03d}-run.{uid}"
        shutil.copytree(first, folder)
        meta.update(id=f"exp-{n:03d}-run", uid=uid)
        (folder / "metadata.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    return f"exp-{count // 2:03d}"


class Stdio:
    """A server process and line-delimited JSON-RPC over its pipes."""

    def __init__(self, argv: list[str], cwd: Path):
        env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1"}
        self.started = time.perf_counter()
        self.errors = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.errors)
        self.next_id = 1

    def send(self, message: dict) -> None:
        self.proc.stdin.write((json.dumps(message) + "\n").encode())
        self.proc.stdin.flush()

    def request(self, method: str, params: dict, msg_id: int | None = None) -> dict:
        msg_id = self.next_id if msg_id is None else msg_id
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        while True:
            line = self.proc.stdout.readline()
            if not line:
                self.errors.seek(0)
                raise RuntimeError(f"server exited during {method}: {self.errors.read().decode()[-2000:]}")
            answer = json.loads(line)
            if answer.get("id") == msg_id:
                return answer

    def initialize(self) -> float:
        answer = self.request("initialize", INIT["params"], 0)
        elapsed = time.perf_counter() - self.started
        assert "result" in answer, answer
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return elapsed

    def close(self) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def latency(server: Stdio, tool: str, args: dict, calls: int) -> list[float]:
    times = []
    for i in range(calls + 20):
        start = time.perf_counter()
        answer = server.request("tools/call", {"name": tool, "arguments": args})
        elapsed = time.perf_counter() - start
        assert not answer["result"].get("isError"), answer
        if i >= 20:  # warm-up calls are not counted
            times.append(elapsed)
    return times


def mlflow_reference(folder: Path, count: int, calls: int) -> float:
    """p50 of get_run + get_metric_history on a sqlite store of `count` runs (in process)."""
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{folder / 'mlflow.db'}")
    exp_id = client.create_experiment("bench", artifact_location=str(folder / "artifacts"))
    ids = []
    for n in range(count):
        run = client.create_run(exp_id, run_name=f"run-{n}")
        ts = int(time.time() * 1000)
        client.log_batch(run.info.run_id, params=[Param(f"p{i}", str(i)) for i in range(10)],
                         metrics=[Metric("loss", 1 / (s + 1), ts, s) for s in range(100)]
                         + [Metric("accuracy", s / 100, ts, s) for s in range(100)])
        client.set_terminated(run.info.run_id)
        ids.append(run.info.run_id)
    target = ids[count // 2]
    times = []
    for i in range(calls + 20):
        start = time.perf_counter()
        client.get_run(target)
        client.get_metric_history(target, "loss")
        if i >= 20:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiments", type=int, default=1000)
    parser.add_argument("--starts", type=int, default=15, help="cold starts of each server")
    parser.add_argument("--calls", type=int, default=300, help="timed tool calls of each server")
    parser.add_argument("--mlflow", action="store_true", help="also time the same lookup in MLflow (sqlite)")
    args = parser.parse_args()

    work = scratch("mcp")
    try:
        subprocess.run(["git", "init", "-q", str(work)], check=True)
        target = build_store(work, args.experiments)
        (work / "bare_server.py").write_text(BARE)
        ours_argv = [sys.executable, "-m", "mcp_server", "--root", str(work)]
        cli_argv = [sys.executable, "-c", "import sys; from specweave.cli import main; sys.exit(main())",
                    "serve", "--root", str(work)]
        bare_argv = [sys.executable, str(work / "bare_server.py")]

        ours_starts, bare_starts, cli_starts = [], [], []
        ours_ready, bare_ready = [], []
        for _ in range(args.starts):  # alternate, so drift and noise hit all alike
            for argv, bucket, ready in ((bare_argv, bare_starts, bare_ready), (ours_argv, ours_starts, ours_ready),
                                        (cli_argv, cli_starts, None)):
                server = Stdio(argv, REPO)
                bucket.append(server.initialize())
                if ready is not None:  # and on to the first tools/list answer, the whole list
                    server.request("tools/list", {})
                    ready.append(time.perf_counter() - server.started)
                server.close()
        start_ratio = statistics.median(ours_starts) / statistics.median(bare_starts)
        ready_ratio = statistics.median(ours_ready) / statistics.median(bare_ready)
        cli_ratio = statistics.median(cli_starts) / statistics.median(bare_starts)

        bare = Stdio(bare_argv, REPO)
        bare.initialize()
        ours = Stdio(ours_argv, REPO)
        ours.initialize()
        bare_calls = latency(bare, "ping", {}, args.calls)
        ours_calls = latency(ours, "show_experiment", {"experiment": target}, args.calls)
        cold_calls = []  # each experiment asked for the first time: the core's lookup and reads, no memo
        for n in range(1, min(args.experiments, 60) + 1):
            start = time.perf_counter()
            ours.request("tools/call", {"name": "show_experiment", "arguments": {"experiment": f"exp-{n:03d}"}})
            cold_calls.append(time.perf_counter() - start)
        bare.close()
        ours.close()
        call_ratio = statistics.median(ours_calls) / statistics.median(bare_calls)

        print(f"store: {args.experiments} experiments; {args.starts} cold starts and {args.calls} calls each")
        print(f"cold start to initialize answer   bare MCPServer {statistics.median(bare_starts) * 1000:8.1f} ms"
              f"   specweave {statistics.median(ours_starts) * 1000:8.1f} ms   ratio {start_ratio:5.2f}x"
              f"   {'OK' if start_ratio <= 1.15 else 'ABOVE target 1.15x'}")
        print(f"  then to the tools/list answer     bare MCPServer {statistics.median(bare_ready) * 1000:8.1f} ms"
              f"   specweave {statistics.median(ours_ready) * 1000:8.1f} ms   ratio {ready_ratio:5.2f}x"
              "   (everything registered before the server starts)")
        print(f"  the same through `sw-ml serve`                          "
              f"   specweave {statistics.median(cli_starts) * 1000:8.1f} ms   ratio {cli_ratio:5.2f}x")
        print(f"p50 tool call over stdio          bare ping      {statistics.median(bare_calls) * 1000:8.2f} ms"
              f"   show_experiment {statistics.median(ours_calls) * 1000:8.2f} ms   ratio {call_ratio:5.2f}x"
              f"   {'OK' if call_ratio <= 3 else 'ABOVE target 3x'}")
        print(f"  first show_experiment of each experiment (nothing memoised yet), p50 "
              f"{statistics.median(cold_calls) * 1000:8.2f} ms")
        if args.mlflow:
            mlflow_dir = work / "mlflow"
            mlflow_dir.mkdir()
            reference = mlflow_reference(mlflow_dir, args.experiments, args.calls)
            print(f"reference: MLflow sqlite get_run + get_metric_history in process, p50 {reference * 1000:8.2f} ms;"
                  f" specweave show_experiment over stdio {statistics.median(ours_calls) * 1000:8.2f} ms"
                  f" (ratio MLflow/specweave {reference / statistics.median(ours_calls):5.2f}x)")
        return 0 if start_ratio <= 1.15 and call_ratio <= 3 else 1
    finally:
        clean(work)


if __name__ == "__main__":
    sys.exit(main())
