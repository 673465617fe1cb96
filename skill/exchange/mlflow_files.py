"""The legacy MLflow file store (`mlruns/`), read from its files: no MLflow needed (3.13 and later refuse it).

The layout MLflow wrote:
```
mlruns/<experiment id>/meta.yaml                  name, experiment_id, lifecycle_stage, artifact_location
mlruns/<experiment id>/<run id>/meta.yaml         run_id, run_name, status (1-5), start_time, end_time,
                                                  user_id, lifecycle_stage, artifact_uri
                               params/<key>       the value (keys with '/' are sub-folders)
                               tags/<key>         the value
                               metrics/<key>      one line per point: "<timestamp ms> <value> [<step>]"
                               artifacts/...      the files
```
`.trash/` and deleted experiments or runs are left out. Every YAML file is
safe-loaded, every file read is bounded, and no link is followed: a copied
store is data. A run folder that does not parse is one damaged line.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, NotFound
from ..storage.safe_reads import MAX_READ_BYTES
from ..schemas.sources import DamagedRun, Point, Reader, SourceRun
from .artifact_files import local_artifacts
from .mlflow_runs import source_run

# MLflow's RunStatus numbers, as the file store writes them.
_STATUS = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}


def _yaml(path: Path) -> Any:
    import yaml

    if path.is_symlink():
        raise ValueError(f"{path.name} is a symbolic link")
    with open(path, "rb") as handle:
        text = handle.read(MAX_READ_BYTES + 1)
    if len(text) > MAX_READ_BYTES:
        raise ValueError(f"{path.name} is larger than {MAX_READ_BYTES} bytes")
    return yaml.safe_load(text.decode("utf-8"))


def _values(folder: Path) -> dict[str, str]:
    """params/ or tags/: {key: file content}, keys with '/' from sub-folders; links are skipped."""
    out: dict[str, str] = {}
    if not folder.is_dir() or folder.is_symlink():
        return out
    for dirpath, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(dirpath, d))]
        for name in files:
            full = Path(dirpath) / name
            if full.is_symlink():
                continue
            with open(full, "rb") as handle:
                out[full.relative_to(folder).as_posix()] = handle.read(MAX_READ_BYTES).decode("utf-8", "replace")
    return out


def _metric_files(run_dir: Path) -> list[tuple[str, Path]]:
    folder = run_dir / "metrics"
    found: list[tuple[str, Path]] = []
    if not folder.is_dir() or folder.is_symlink():
        return found
    for dirpath, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(dirpath, d))]
        for name in files:
            full = Path(dirpath) / name
            if not full.is_symlink():
                found.append((full.relative_to(folder).as_posix(), full))
    return sorted(found)


def _fingerprint(run_dir: Path) -> str:
    """Changes when any file of the run does (sizes and times of its meta, params, tags and metrics)."""
    digest = hashlib.sha256()
    for sub in ("", "params", "tags", "metrics"):
        folder = run_dir / sub if sub else run_dir
        if sub and not folder.is_dir():
            continue
        walker = [(str(folder), [], ["meta.yaml"])] if not sub else os.walk(folder, followlinks=False)
        for dirpath, _dirs, files in walker:
            for name in sorted(files):
                try:
                    st = os.lstat(os.path.join(dirpath, name))
                except OSError:
                    continue
                digest.update(f"{dirpath}/{name}:{st.st_size}:{st.st_mtime_ns}\n".encode("utf-8", "replace"))
    return digest.hexdigest()[:16]


class MlrunsReader(Reader):
    """Runs of an `mlruns/` folder."""

    kind = "mlflow"

    def __init__(self, folder: Path, experiment: str | None = None):
        self.folder = folder.resolve()
        self.location = f"file://{self.folder}"
        self.experiment = experiment
        self._experiments = self._find_experiments()
        if not self._experiments:
            raise InvalidInput("MLflow file store", str(folder), "an mlruns/ folder (experiment folders with a "
                               "meta.yaml each)")
        if experiment is not None:
            chosen = [e for e in self._experiments if experiment in (e[1], e[2])]
            if not chosen:
                raise NotFound("MLflow experiment", experiment, [e[1] for e in self._experiments])
            self._experiments = chosen

    def _find_experiments(self) -> list[tuple[Path, str, str]]:
        """(folder, name, id) of each live experiment, oldest first."""
        found = []
        for entry in sorted(os.scandir(self.folder), key=lambda e: e.name):
            if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
                continue
            meta_path = Path(entry.path) / "meta.yaml"
            if not meta_path.is_file():
                continue
            try:
                meta = _yaml(meta_path)
            except (OSError, ValueError, UnicodeDecodeError, __import__("yaml").YAMLError):
                continue
            if not isinstance(meta, dict) or "experiment_id" not in meta:
                continue
            if meta.get("lifecycle_stage") == "deleted":
                continue
            found.append((meta.get("creation_time") or 0, Path(entry.path), str(meta.get("name") or entry.name),
                          str(meta["experiment_id"])))
        found.sort(key=lambda item: (item[0], item[3]))  # oldest first, as the client reader orders them
        return [item[1:] for item in found]

    def runs(self) -> Iterator[SourceRun | DamagedRun]:
        import yaml

        for folder, name, _exp_id in self._experiments:
            for entry in sorted(os.scandir(folder), key=lambda e: e.name):
                if not entry.is_dir(follow_symlinks=False) or not (Path(entry.path) / "meta.yaml").is_file():
                    continue
                run_dir = Path(entry.path)
                try:
                    meta = _yaml(run_dir / "meta.yaml")
                    if not isinstance(meta, dict) or not (meta.get("run_id") or meta.get("run_uuid")):
                        continue  # a logged model's or a trace's folder, not a run
                    if meta.get("lifecycle_stage") == "deleted":
                        continue
                    status = meta.get("status")
                    status = _STATUS.get(status, str(status)) if isinstance(status, int) else str(status or "")
                    run = source_run(str(meta.get("run_id") or meta["run_uuid"]), meta.get("run_name"), name,
                                     status, meta.get("start_time"), meta.get("end_time"), meta.get("user_id"),
                                     _values(run_dir / "params"), _values(run_dir / "tags"), _fingerprint(run_dir))
                    run.extra["mlruns_folder"] = run_dir.relative_to(self.folder).as_posix()
                    yield run
                except (OSError, ValueError, TypeError, KeyError, UnicodeDecodeError, yaml.YAMLError) as exc:
                    yield DamagedRun(run_id=entry.name, name=entry.name, problem=f"{run_dir}/meta.yaml: {exc}")

    def _run_dir(self, run: SourceRun) -> Path:
        return self.folder / run.extra["mlruns_folder"]

    def points(self, run: SourceRun) -> Iterator[Point]:
        """Each metric file line by line: `<timestamp ms> <value> [<step>]`; a line that does not parse
        makes the run damaged (named with its file and line)."""
        for key, path in _metric_files(self._run_dir(run)):
            with open(path, encoding="utf-8") as handle:
                for number, line in enumerate(handle, 1):
                    parts = line.split()
                    if not parts:
                        continue
                    try:
                        ts, value = int(parts[0]), float(parts[1])
                        step = int(parts[2]) if len(parts) > 2 else 0
                    except (ValueError, IndexError):
                        raise ValueError(f"{path}:{number}: not '<timestamp> <value> [<step>]'") from None
                    yield key, step, value, ts / 1000

    def artifacts(self, run: SourceRun, scratch: Path) -> Iterator[tuple[str, Path]]:
        folder = self._run_dir(run) / "artifacts"
        if folder.is_dir() and not folder.is_symlink():
            yield from local_artifacts(folder)


__all__ = ["MlrunsReader"]
