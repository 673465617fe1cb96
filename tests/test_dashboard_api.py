"""`sw-ml ui`'s JSON API over real HTTP on 127.0.0.1: every endpoint, its answer and its refusals.

The server is the real command in a subprocess (`sw-ml ui --port 0`) on a store logged with
track_experiment (tests/fixtures.py's "views" store: three runs, a PNG artifact, a decision when a test logs one).
"""

from __future__ import annotations

import http.client
import os
import json
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from skill.project import Project
from tests.fixtures import INC, REPO, png, sample_store, start_ui, sw

Server = tuple[str, str, Path, subprocess.Popen]  # base URL, token, project, process


@pytest.fixture
def server(project: Path) -> Iterator[Server]:
    sample_store(project, "views")
    proc, base, token = start_ui(project)
    try:
        yield base, token, project, proc
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def get(server: Server, path: str, **params: Any) -> tuple[int, Any, dict[str, str]]:
    """(status, parsed JSON or bytes, headers) of GET `path` with the token as a header."""
    base, token, _, _ = server
    url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, body, headers = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        status, body, headers = exc.code, exc.read(), dict(exc.headers)
    if headers.get("content-type", "").startswith("application/json"):
        return status, json.loads(body), headers
    return status, body, headers


def keys_of(server: Server) -> list[str]:
    status, table, _ = get(server, "api/table")
    assert status == 200
    return [row["key"] for row in table["rows"]]


def test_increments_table_and_run(server: Server) -> None:
    status, incs, _ = get(server, "api/increments")
    assert status == 200 and incs == [{"id": INC, "title": incs[0]["title"], "experiments": 3, "group": None}]
    status, table, _ = get(server, "api/table")
    assert status == 200 and table["primary_metric"] == "accuracy" and table["goal"] == "max"
    assert [r["name"] for r in table["rows"]] == ["gbm-a", "gbm-b", "gbm-c"] and table["rows"][0]["best"]
    status, kept, _ = get(server, "api/table", where="params.max_depth > 3", increments=f"{INC},{INC}")
    assert status == 200 and [r["name"] for r in kept["rows"]] == ["gbm-b", "gbm-c"]
    status, bad, _ = get(server, "api/table", where="params.max_deptj > 3")
    assert status == 400 and "max_deptj" in bad["error"] and "\n" not in bad["error"]
    status, run, _ = get(server, "api/run", ref=table["rows"][0]["key"])
    assert status == 200 and run["row"]["params"]["max_depth"] == 3
    assert [s["key"] for s in run["stats"]] == ["accuracy", "test/logloss"]
    status, missing, _ = get(server, "api/run", ref="exp-999")
    assert status == 404 and "exp-999" in missing["error"]


def test_curves_and_their_bad_queries(server: Server) -> None:
    keys = keys_of(server)
    status, curves, _ = get(server, "api/curves", runs=",".join(keys + keys), metric="test/logloss", max_points=10)
    assert status == 200 and [c["run"] for c in curves["curves"]] == keys  # each run once
    assert all(len(c["values"]) <= 10 and c["total_points"] == 100 for c in curves["curves"])
    status, none, _ = get(server, "api/curves", runs=keys[0], metric="nope")
    assert status == 200 and none["curves"] == [] and none["missing"] == [keys[0]]
    for points in ("5" * 5000, "-3", "ten", "1", "99999999999"):
        status, bad, _ = get(server, "api/curves", runs=keys[0], metric="test/logloss", max_points=points)
        assert status == 400 and bad["error"].startswith("invalid max_points") and "\n" not in bad["error"]
    many = ",".join(f"exp-{i}" for i in range(1001))
    status, bad, _ = get(server, "api/curves", runs=many, metric="test/logloss")
    assert status == 400 and "at most 1000" in bad["error"]


def test_parallel_has_axes_and_importance(server: Server) -> None:
    keys = keys_of(server)
    status, view, _ = get(server, "api/parallel", runs=",".join(keys))
    assert status == 200 and view["metric"] == "accuracy" and view["runs"] == keys
    assert {a["name"] for a in view["axes"]} >= {"max_depth", "learning_rate", "booster", "accuracy"}
    assert view["importance"] and abs(sum(p["importance"] for p in view["importance"]) - 1) < 1e-6
    status, bad, _ = get(server, "api/parallel", metric="nope")
    assert status == 400 and "nope" in bad["error"]
    status, bad, _ = get(server, "api/parallel", increments=",".join(f"i{i}" for i in range(101)))
    assert status == 400 and "at most 100 distinct increments" in bad["error"]


def test_compare_answers_json_with_the_best_and_its_reasons(server: Server) -> None:
    keys = keys_of(server)
    status, views, _ = get(server, "api/compare", runs=",".join(keys))
    assert status == 200 and isinstance(views, list) and len(views) == 1
    (view,) = views
    assert view["best"].startswith("exp-001") and view["runs"][0] == keys[0]
    assert view["reasons"][0].startswith("Highest accuracy (0.91 vs 0.88 for exp-002")
    status, bad, _ = get(server, "api/compare")
    assert status == 400 and "runs" in bad["error"]
    # a decision that overrides the computed best: the answer says both, and its reasons speak of its best
    Project(server[2]).log_decision("exp-003", "smallest model")
    status, (view,), _ = get(server, "api/compare", runs=",".join(keys))
    assert status == 200 and view["best"].startswith("exp-003") and view["computed_best"].startswith("exp-001")
    assert view["runs"][0] == keys[2]
    assert "exp-001" in view["override"] and "0.05" in view["override"]
    assert all("for exp-003" not in reason for reason in view["reasons"])


def test_artifact_image_and_download(server: Server) -> None:
    keys = keys_of(server)
    status, data, headers = get(server, "api/artifact", ref=keys[0], name="confusion_matrix.png")
    assert status == 200 and data == png() and headers["content-type"] == "image/png"
    assert "sandbox" in headers["content-security-policy"]
    status, data, headers = get(server, "api/artifact", ref=keys[0], name="confusion_matrix.png", download="1")
    assert status == 200 and data == png() and headers["content-disposition"].startswith("attachment;")
    status, bad, _ = get(server, "api/artifact", ref=keys[0], name="model.pkl")
    assert status == 400 and "only images" in bad["error"]
    status, bad, _ = get(server, "api/artifact", ref=keys[0], name="nope.png", download="1")
    assert status in (400, 404) and "nope.png" in bad["error"]


def test_page_static_and_no_cookie(server: Server) -> None:
    base, token, _, _ = server
    status, page, headers = get(server, "", token=token)
    assert status == 200 and b"sw-config" in page
    assert "set-cookie" not in {k.lower() for k in headers}  # no cookie another local server would receive
    assert "default-src 'self'" in headers["content-security-policy"]
    status, script, headers = get(server, "static/app.js")
    assert status == 200 and b"swState" in script and headers["content-type"].startswith("text/javascript")
    status, _, _ = get(server, "static/nope.js")
    assert status == 404
    status, body, _ = get(server, "", increments=",".join(f"i{i}" for i in range(101)))
    assert status == 400 and body.count(b"\n") == 1
    for path in ("", "api/increments", "api/table", "api/curves", "api/run", "api/parallel", "api/compare",
                 "api/artifact", "api/events", "static/app.js"):
        with pytest.raises(urllib.error.HTTPError) as caught:  # no token, no answer
            urllib.request.urlopen(base + path, timeout=10)
        assert caught.value.code == 403, path
        cookie = urllib.request.Request(base + path, headers={"Cookie": f"sw_ml_token={token}"})
        with pytest.raises(urllib.error.HTTPError) as caught:  # a cookie is no token
            urllib.request.urlopen(cookie, timeout=10)
        assert caught.value.code == 403, path
        rebound = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}",
                                                                "Host": "evil.example:80"})
        with pytest.raises(urllib.error.HTTPError) as caught:  # another name for this address: DNS rebinding
            urllib.request.urlopen(rebound, timeout=10)
        assert caught.value.code == 403, path


def read_event(response: http.client.HTTPResponse) -> str:
    lines = []
    while (line := response.readline().decode()) not in ("\n", ""):
        lines.append(line.rstrip("\n"))
    return "\n".join(lines)


def test_events_push_a_new_run_and_ctrl_c_stops_the_server_with_streams_open(server: Server) -> None:
    base, token, project, proc = server
    host, port = urllib.parse.urlsplit(base).netloc.split(":")
    conns = []
    for _ in range(3):  # three pages open, one naming the increment 300 times
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        conn.request("GET", "/api/events?" + urllib.parse.urlencode({"increments": ",".join([INC] * 300),
                                                                     "primary": "accuracy"}),
                     headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        assert response.status == 200 and response.headers["content-type"].startswith("text/event-stream")
        assert read_event(response) == "event: hello\ndata: {}"
        conns.append((conn, response))
    from skill.tracking.track import track_experiment

    with track_experiment("gbm-d", increment=INC, root=project) as exp:
        exp.log_metric("accuracy", 0.5)
    changes = []
    while not any(c["type"] == "run" for c in changes) and len(changes) < 20:  # heartbeats and points skipped
        event = read_event(conns[0][1])
        if event.startswith("data: "):
            changes.append(json.loads(event.removeprefix("data: ")))
    assert [c["row"]["name"] for c in changes if c["type"] == "run"] == ["gbm-d"]
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=15) == 0  # at once, though three streams are open
    assert proc.stderr is not None and "Traceback" not in proc.stderr.read()
    for conn, _ in conns:
        conn.close()


def test_bad_ports_are_one_line(project: Path) -> None:
    for port in ("99999", "-1"):
        done = sw("ui", "--port", port, cwd=project)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert done.stderr.strip().count("\n") == 0 and "--port" in done.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        done = sw("ui", "--port", str(busy.getsockname()[1]), cwd=project)
    assert done.returncode == 2 and "http://" not in done.stdout and "--port" in done.stderr


def test_a_token_too_short_to_guard_anything_is_refused_in_one_line(project: Path) -> None:
    """`sw-ml ui --token` is checked by the core's one fence, as `sw-ml serve --http --token` is."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPECWEAVE_QUIET": "1", "HOME": str(project.parent / "home")}
    done = subprocess.run([sys.executable, "-m", "specweave.cli", "ui", "--port", "0", "--token", "abc"],
                          cwd=project, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "at least 16 characters" in done.stderr, done.stderr
