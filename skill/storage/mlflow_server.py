"""Reading a team's MLflow tracking server: the runs of the experiment named after an increment.

The server is named by SPECWEAVE_TRACKING_URI or `tracking_uri` in
`.specweave/ml.yaml`. A server that does not answer must not break local
reads: it is probed first (a short GET of /health), and when it is down the
listing goes on with the local experiments and one warning on stderr.
"""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from typing import Any

from ..schemas.records import ExperimentRecord, Increment, MetricPoint
from .mlflow_store import mlflow_client, read_runs

log = logging.getLogger("specweave.external")

PROBE_TIMEOUT_S = 3.0
_DOWN_FOR_S = 30.0
_UP_FOR_S = 10.0
_down_until: dict[str, float] = {}
_up_until: dict[str, float] = {}


def server_reachable(uri: str) -> bool:
    """True when an http(s) server answers /health (any HTTP answer counts); other URIs are assumed up."""
    if not uri.startswith(("http://", "https://")):
        return True
    now = time.monotonic()
    if _down_until.get(uri, 0.0) > now:
        return False
    if _up_until.get(uri, 0.0) > now:  # one probe serves a listing of every increment
        return True
    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=PROBE_TIMEOUT_S):  # noqa: S310 - the configured server
            pass
    except urllib.error.HTTPError:
        pass  # it answered: an auth proxy or an older server without /health
    except (urllib.error.URLError, OSError, ValueError) as exc:
        _down_until[uri] = time.monotonic() + _DOWN_FOR_S
        log.warning("specweave: MLflow server %s is not reachable (%s); showing local experiments only",
                    uri, getattr(exc, "reason", exc))
        return False
    _up_until[uri] = time.monotonic() + _UP_FOR_S
    return True


def read_server_runs(uri: str, increment: Increment, skip_uids: set[str]) -> list[ExperimentRecord]:
    """The server's runs for the increment; [] (with a warning) when it is down or refuses."""
    if not server_reachable(uri):
        return []
    try:
        # Artifact lists would cost one request per run; a server run lists none.
        return read_runs(uri, increment, source="mlflow-server", skip_uids=skip_uids, list_files=False)
    except Exception as exc:  # any client failure (auth, protocol): local reads must still work
        _down_until[uri] = time.monotonic() + _DOWN_FOR_S
        log.warning("specweave: reading MLflow server %s failed (%s: %s); showing local experiments only",
                    uri, type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
        return []


def run_metric_history(tracking_uri: str, run_id: str, key: str | None = None) -> list[MetricPoint]:
    """Every logged point of a run (one key, or all), as specweave MetricPoints (ts in seconds)."""
    client = mlflow_client(tracking_uri)
    keys = [key] if key else sorted(client.get_run(run_id).data.metrics)
    points: list[MetricPoint] = []
    for name in keys:
        history: Any = client.get_metric_history(run_id, name)
        points.extend(MetricPoint(key=name, value=m.value, step=m.step, ts=m.timestamp / 1000) for m in history)
    return points


__all__ = ["read_server_runs", "run_metric_history", "server_reachable"]
