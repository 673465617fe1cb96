"""`sw-ml push [INCREMENT] --to URI`: copy plain experiments to an MLflow tracking server, idempotently.

Each increment becomes the MLflow experiment named after its id; each
experiment folder becomes one run, tagged `specweave.uid`. A second push
finds the run by that tag and sends only what changed:

- unchanged folder (same `specweave.digest` tag): nothing is sent;
- changed folder: new params, the metric points past the `specweave.points`
  already sent (metrics.jsonl is append-only), tags, notes, status and the
  artifacts again. A param whose value changed is reported, not sent:
  MLflow keeps params immutable.

Metrics go with their steps and timestamps through `log_batch` (1,000 per
call); tags carry the status, tags, notes (`mlflow.note.content`), author,
git commit and branch; artifacts are uploaded, and `metadata.yaml` too, as
readers see it (the notes and tags of its `edits.jsonl` folded in), under
`specweave/`, so nothing of the folder is lost.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import shutil
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..errors import InvalidInput, SpecweaveError
from ..layout import CACHE_DIR, EDITS_FILE, METADATA_FILE, TMP_DIR
from ..schemas.records import ExperimentRecord, MetricPoint
from ..storage.increments import list_increments, resolve_increment
from ..storage.run_records import experiment_dirs, load_experiment, metric_points_with_source
from ..storage.mlflow_store import (
    NOTE_TAG,
    STATUS_TO_MLFLOW,
    TAG_DATA_VERSION,
    TAG_DIGEST,
    TAG_ID,
    TAG_PARENT,
    TAG_POINTS,
    TAG_STAGE,
    TAG_STATUS,
    TAG_TAGS,
    TAG_UID,
    encode_param,
    ensure_experiment,
    normalize_uri,
    search_all_runs,
)
from ..storage.metafile import render_meta
from ..storage.mlflow_server import server_reachable
from ..storage.store_dirs import make_store_dirs
from ..extras import require

_URI_RE = re.compile(r"^([a-z][a-z0-9+.-]*:|databricks$)")
_BATCH = 1000  # MLflow's limit of entities (metrics + params + tags) per log_batch
_PARAMS_PER_BATCH = 100
_MAX_TAG_VALUE = 8000
_MAX_PARAM_VALUE = 6000
_MAX_KEY = 250
_QUIET_ENV = "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"


class PushedRun(BaseModel):
    increment: str
    id: str = Field(description="the experiment's readable id")
    run_id: str
    action: Literal["created", "updated", "unchanged"]
    source: Literal["full", "summary"] = Field("full", description="summary: only the downsample git keeps was "
                                               "here to send (sw-ml artifacts pull first for every point)")


class PushResult(BaseModel):
    """What a push did: counts, every run touched, and anything that could not be sent."""

    to: str
    increments: list[str] = Field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    metric_points: int = 0
    params: int = 0
    artifacts: int = 0
    seconds: float = 0.0
    runs: list[PushedRun] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)

    def summary(self) -> str:
        """One line for the CLI (warnings follow, one per line)."""
        total = self.created + self.updated + self.unchanged
        head = (f"pushed {total} experiment{'s' if total != 1 else ''} from {len(self.increments)} "
                f"increment{'s' if len(self.increments) != 1 else ''} to {self.to}: {self.created} created, "
                f"{self.updated} updated, {self.unchanged} unchanged ({self.metric_points} metric points, "
                f"{self.params} params, {self.artifacts} artifacts sent) in {self.seconds:.1f}s")
        return "\n".join([head, *(f"warning: {w}" for w in self.warnings)])


def _valid_key(name: str) -> bool:
    return (0 < len(name) <= _MAX_KEY and re.fullmatch(r"[/\w.\- :]+", name) is not None
            and posixpath.normpath(name) == name and not name.startswith(("/", "..")))


def _mlflow_key(name: str, what: str, warnings: list[str], exp_id: str) -> str:
    """A key MLflow accepts; an invalid one is rewritten (and reported) rather than failing the batch."""
    if _valid_key(name):
        return name
    fixed = re.sub(r"[^/\w.\- :]", "_", name)[:_MAX_KEY]
    fixed = "/".join(part if part not in ("", ".", "..") else "_" for part in fixed.split("/")) or "_"
    warnings.append(f"{exp_id}: {what} {name!r} is not a valid MLflow name; sent as {fixed!r}")
    return fixed


def _ms(dt: Any) -> int | None:
    return int(dt.timestamp() * 1000) if dt is not None else None


def _notes_text(rec: ExperimentRecord) -> str:
    meta = rec.meta
    assert meta is not None
    parts = [meta.description.strip()] if meta.description.strip() else []
    if meta.notes:
        parts.append("Notes:\n" + "\n".join(f"- {n.ts.isoformat(timespec='seconds')}: {n.text}" for n in meta.notes))
    text = "\n\n".join(parts)
    if len(text) > _MAX_TAG_VALUE:
        tail = "\n…(cut; every note is in the artifact specweave/metadata.yaml)"
        text = text[: _MAX_TAG_VALUE - len(tail)] + tail
    return text


def _run_tags(rec: ExperimentRecord, warnings: list[str]) -> dict[str, str]:
    meta = rec.meta
    assert meta is not None
    tags = {TAG_UID: meta.uid, TAG_ID: rec.id, TAG_STATUS: rec.status,
            TAG_TAGS: json.dumps(meta.tags, ensure_ascii=False)[:_MAX_TAG_VALUE]}
    note = _notes_text(rec)
    if note:
        tags[NOTE_TAG] = note
    optional = {"mlflow.user": meta.author, "mlflow.source.git.commit": meta.git.commit,
                "mlflow.source.git.branch": meta.git.branch, TAG_DATA_VERSION: meta.data_version,
                TAG_PARENT: meta.parent, TAG_STAGE: meta.stage}
    tags.update({k: str(v) for k, v in optional.items() if v})
    for tag in meta.tags:
        key, _, value = tag.partition("=")
        if _valid_key(key):
            tags.setdefault(key, value or "true")
    return tags


def _digest(rec: ExperimentRecord, points: int) -> str:
    """Changes whenever anything a push sends changes (the heartbeat alone does not count)."""
    assert rec.meta is not None
    meta = rec.meta.model_dump(mode="json", exclude={"heartbeat", "pid", "host", "packages"})
    payload = json.dumps([rec.params, rec.status, points, meta], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _metric_entities(points: list[MetricPoint], rec_id: str, warnings: list[str]) -> list[Any]:
    from mlflow.entities import Metric

    keys: dict[str, str] = {}
    out = []
    for p in points:
        key = keys.get(p.key)
        if key is None:
            key = keys[p.key] = _mlflow_key(p.key, "metric", warnings, rec_id)
        out.append(Metric(key, p.value, int(p.ts * 1000), p.step))
    return out


def _send(client: Any, run_id: str, metrics: list[Any], params: list[Any], tags: list[Any],
          final_tags: list[Any]) -> None:
    """log_batch within MLflow's limits (100 params, 100 tags, 1,000 entities per call).

    `final_tags` (what was sent, and its digest) go in the last call, so a push
    that fails halfway is not taken for a complete one the next time.
    """
    batch: dict[str, list[Any]] = {"metrics": [], "params": [], "tags": []}

    def flush() -> None:
        if any(batch.values()):
            client.log_batch(run_id, **batch)
            for items in batch.values():
                items.clear()

    def add(kind: str, item: Any) -> None:
        size = sum(len(items) for items in batch.values())
        if size >= _BATCH or (kind != "metrics" and len(batch[kind]) >= _PARAMS_PER_BATCH):
            flush()
        batch[kind].append(item)

    for param in params:
        add("params", param)
    for tag in tags:
        add("tags", tag)
    for metric in metrics:
        add("metrics", metric)
    for tag in final_tags:
        add("tags", tag)
    flush()


def _upload_artifacts(run: Any, tracking_uri: str, rec: ExperimentRecord, warnings: list[str]) -> int:
    """Upload the run's artifacts, from the folder or the object store, and its metadata.yaml with its
    later edits folded in (under specweave/); returns the count sent. An artifact whose bytes are not in
    this clone is a warning."""
    import tempfile

    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    from ..errors import DamagedFile, NotFound, UnsafePath
    from ..storage.verification import artifact_file

    assert rec.meta is not None
    repo = get_artifact_repository(run.info.artifact_uri, tracking_uri=tracking_uri)
    sent = 0
    for art in rec.meta.artifacts:
        try:
            path = artifact_file(rec, art.name)[1]
            # MLflow names the upload after the file, and an object's name is its hash: it goes as a link
            # named for the artifact, made in .specweave/cache/tmp (git-ignored, the same disk)
            scratch = make_store_dirs(path.parents[3] / CACHE_DIR / TMP_DIR) if art.stored == "objects" else None
        except (DamagedFile, NotFound, UnsafePath) as exc:
            warnings.append(f"{rec.id}: artifact {art.name} not sent ({exc})")
            continue
        if scratch is None:
            repo.log_artifact(str(path), posixpath.dirname(art.name) or None)
        else:
            with tempfile.TemporaryDirectory(dir=scratch) as tmp:
                named = Path(tmp) / posixpath.basename(art.name)
                try:
                    os.link(path, named)
                except OSError:
                    shutil.copyfile(path, named)
                repo.log_artifact(str(named), posixpath.dirname(art.name) or None)
        sent += 1
    _upload_meta(repo, rec, warnings)
    return sent


def _upload_meta(repo: Any, rec: ExperimentRecord, warnings: list[str]) -> None:
    """metadata.yaml under specweave/, as every reader sees it: the notes and tags added after the run ended
    live in its edits.jsonl, folded in here (the note tag's cut points to this file for all of them)."""
    import tempfile

    from ..errors import DamagedFile, UnsafePath

    assert rec.meta is not None
    written, edits = rec.path / METADATA_FILE, rec.path / EDITS_FILE
    if not edits.is_file():  # nothing to fold: the file is what readers see
        if written.is_file():
            repo.log_artifact(str(written), "specweave")
        return
    try:
        scratch = make_store_dirs(rec.path.parents[3] / CACHE_DIR / TMP_DIR)
    except (DamagedFile, UnsafePath) as exc:  # a committed link: both files as written, nothing lost
        warnings.append(f"{rec.id}: metadata.yaml sent as written, its edits.jsonl beside it ({exc})")
        for path in (written, edits):
            repo.log_artifact(str(path), "specweave")
        return
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        folded = Path(tmp) / METADATA_FILE
        folded.write_text(render_meta(rec.meta), encoding="utf-8")
        repo.log_artifact(str(folded), "specweave")


def _push_one(client: Any, to: str, exp_id: str, rec: ExperimentRecord, existing: Any,
              result: PushResult) -> PushedRun:
    from mlflow.entities import Param, RunTag

    assert rec.meta is not None
    warnings = result.warnings
    points, bad, source = metric_points_with_source(rec)
    if source == "summary":
        warnings.append(f"{rec.id}: only the summary of its points is in this clone ({len(points)} points); "
                        "sw-ml artifacts pull, then push again, sends every point")
    for line in bad:
        warnings.append(f"{rec.id}: skipped damaged line {line.path}:{line.line} ({line.problem})")
    digest = _digest(rec, len(points))
    if existing is not None and existing.data.tags.get(TAG_DIGEST) == digest:
        return PushedRun(increment=rec.increment, id=rec.id, run_id=existing.info.run_id, action="unchanged",
                         source=source)

    tags = _run_tags(rec, warnings)
    if existing is None:
        run = client.create_run(exp_id, start_time=_ms(rec.meta.started), tags=tags, run_name=rec.name)
        run_id, sent_points, server_params, old_tags = run.info.run_id, 0, {}, []
        tags = {}  # sent with the run
    else:
        run, run_id = existing, existing.info.run_id
        try:
            sent_points = int(existing.data.tags.get(TAG_POINTS, "0"))
        except ValueError:
            sent_points = 0
        if sent_points > len(points):  # the local log shrank (rewritten by hand): send it all again
            sent_points = 0
        server_params = dict(existing.data.params)
        try:
            old_tags = json.loads(existing.data.tags.get(TAG_TAGS, "[]"))
        except ValueError:
            old_tags = []
    params = []
    for key, value in sorted(rec.params.items()):
        mkey = _mlflow_key(key, "param", warnings, rec.id)
        text = encode_param(value)
        if len(text) > _MAX_PARAM_VALUE:
            warnings.append(f"{rec.id}: param {key!r} is longer than MLflow's {_MAX_PARAM_VALUE} characters; cut")
            text = text[:_MAX_PARAM_VALUE]
        if mkey in server_params:
            if server_params[mkey] != text:
                warnings.append(f"{rec.id}: param {key!r} changed ({server_params[mkey]!r} on the server, "
                                f"{text!r} here); MLflow params cannot change, the server keeps its value")
            continue
        params.append(Param(mkey, text))
    metrics = _metric_entities(points[sent_points:], rec.id, warnings)
    for old in old_tags:  # tags removed here are removed there
        key = str(old).partition("=")[0]
        if old not in rec.meta.tags and key in (existing.data.tags if existing is not None else {}) \
                and key not in tags:
            client.delete_tag(run_id, key)
    result.artifacts += _upload_artifacts(run, to, rec, warnings)
    status = STATUS_TO_MLFLOW[rec.status]
    if status != "RUNNING":
        client.set_terminated(run_id, status, end_time=_ms(rec.meta.ended))
    elif existing is not None and existing.info.status != "RUNNING":
        client.update_run(run_id, status="RUNNING")
    _send(client, run_id, metrics, params, [RunTag(k, v) for k, v in tags.items()],
          [RunTag(TAG_POINTS, str(len(points))), RunTag(TAG_DIGEST, digest)])
    result.metric_points += len(metrics)
    result.params += len(params)
    return PushedRun(increment=rec.increment, id=rec.id, run_id=run_id,
                     action="created" if existing is None else "updated", source=source)


def _imported_from(rec: ExperimentRecord, to: str) -> str | None:
    """The MLflow run id a run was imported from when its origin is the server `to` (`sw-ml import`): such a
    run is never pushed back there as a new run."""
    origin = getattr(rec.meta, "origin", None)
    if not isinstance(origin, dict) or origin.get("kind") != "mlflow" or not isinstance(origin.get("run_id"), str):
        return None
    return origin["run_id"] if origin.get("location") == normalize_uri(to) else None


def push_experiments(root: Path, increment: str | None, to: str) -> PushResult:
    """Copy the plain experiments of one increment (None: every increment) to the MLflow server `to`.

    An empty `to` means the team server configured for the project
    (SPECWEAVE_TRACKING_URI, else `tracking_uri` in `.specweave/ml.yaml`).
    """
    if to is None or (isinstance(to, str) and not to.strip()):
        from ..config import team_tracking_uri

        to = team_tracking_uri(root) or ""
        if not to:
            raise InvalidInput("tracking URI", to, "--to URI, SPECWEAVE_TRACKING_URI or tracking_uri in "
                                                   ".specweave/ml.yaml (e.g. http://127.0.0.1:5000)")
    if not isinstance(to, str) or not _URI_RE.match(to.strip()):
        raise InvalidInput("tracking URI", to, "an MLflow tracking URI such as http://127.0.0.1:5000")
    to = to.strip()
    mlflow = require("mlflow", "mlflow")
    if not server_reachable(to):
        raise SpecweaveError(f"the MLflow server {to} does not answer; start it or check the address given to --to")
    started = time.perf_counter()
    incs = [resolve_increment(root, increment)] if increment else list_increments(root, details=False)
    client = mlflow.MlflowClient(tracking_uri=to)
    result = PushResult(to=to)
    # MLflow prints two "View run" lines (after one more request) per ended run; the summary says it all.
    previous = os.environ.get(_QUIET_ENV)
    os.environ[_QUIET_ENV] = "true"
    try:
        _push_increments(client, root, to, incs, result)
    finally:
        if previous is None:
            os.environ.pop(_QUIET_ENV, None)
        else:
            os.environ[_QUIET_ENV] = previous
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _push_increments(client: Any, root: Path, to: str, incs: list[Any], result: PushResult) -> None:
    for inc in incs:
        folders = experiment_dirs(inc)
        if not folders:
            continue
        result.increments.append(inc.id)
        exp, by_uid = None, {}
        for folder in folders:
            rec = load_experiment(folder, inc.id, root)
            if rec.meta is None:
                result.warnings.append(f"{inc.id}/{rec.id}: not pushed, {'; '.join(rec.problems)}")
                continue
            origin_run = _imported_from(rec, to)
            if origin_run is not None:  # imported from this very server: it has the original run
                result.runs.append(PushedRun(increment=inc.id, id=rec.id, run_id=origin_run, action="unchanged"))
                result.unchanged += 1
                continue
            if exp is None:  # made on the server only when a run goes there
                exp = ensure_experiment(client, inc.id)
                for run in search_all_runs(client, exp.experiment_id):
                    uid = run.data.tags.get(TAG_UID)
                    if uid:
                        by_uid.setdefault(uid, run)
            pushed = _push_one(client, to, exp.experiment_id, rec, by_uid.get(rec.meta.uid), result)
            result.runs.append(pushed)
            setattr(result, pushed.action, getattr(result, pushed.action) + 1)


__all__ = ["PushResult", "PushedRun", "push_experiments"]
