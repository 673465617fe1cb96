"""What changed between two runs: params, metrics (with deltas), code, data, environment, packages.

The code of a run is its commit plus its recorded patch; the two source trees are built in scratch git
objects (see `gitwork`), so the diff covers exactly the files that differ, whether the change was
committed or not, and never touches the checkout. The store's own files are left out; the text of the
unified diff is bounded (`max_code_bytes`), the list of files never is.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..schemas.records import ExperimentRecord
from .datasets import describe
from .gitwork import NOT_STORE, TreeProblem, git, scratch_dir, scratch_env, toplevel, tree_of
from ..schemas.reproduction import Changes, CodeDiff, ExperimentDiff, FileChange, MetricDelta

DEFAULT_MAX_CODE_BYTES = 64_000


def changes(a: dict[str, Any], b: dict[str, Any]) -> Changes:
    return Changes(added={k: b[k] for k in sorted(b) if k not in a},
                   removed={k: a[k] for k in sorted(a) if k not in b},
                   changed={k: [a[k], b[k]] for k in sorted(a) if k in b and a[k] != b[k]})


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def metric_deltas(a: dict[str, Any], b: dict[str, Any]) -> dict[str, MetricDelta]:
    """Every metric of either run, with b - a and (b - a) / |a| where both are numbers."""
    out = {}
    for key in sorted({*a, *b}):
        va, vb = a.get(key), b.get(key)
        na, nb = _number(va), _number(vb)
        delta = rel = None
        if na is not None and nb is not None and math.isfinite(na) and math.isfinite(nb):
            delta = nb - na
            rel = delta / abs(na) if na else None
        out[key] = MetricDelta(a=va, b=vb, delta=delta, rel=rel)
    return out


def source_of(record: ExperimentRecord) -> tuple[str | None, Path | None, list[str]]:
    """(commit, patch file or None, problems) of a run's code."""
    meta = record.meta
    if meta is None or not meta.git.commit:
        return None, None, [f"{record.id} recorded no git commit"]
    capture = meta.capture
    if capture is None:  # recorded before the capture existed
        if meta.git.dirty:
            return meta.git.commit, None, [f"{record.id} ran with uncommitted changes that were not recorded: "
                                           f"taken at its commit"]
        return meta.git.commit, None, []
    problems = [f"{record.id}: {p}" for p in capture.problems if "not kept" in p or "not recorded" in p]
    if capture.patch:
        patch = _patch_path(Path(record.path), capture.patch)
        if patch is None:
            problems.append(f"{record.id}'s patch path {capture.patch!r} is not a file name inside its folder "
                            f"(absolute, '..' or through a link): not read; taken at its commit")
        elif patch.is_file():
            return meta.git.commit, patch, problems
        else:
            problems.append(f"{record.id}'s patch {capture.patch} is missing: taken at its commit")
    return meta.git.commit, None, problems


def _patch_path(folder: Path, name: object) -> Path | None:
    """The recorded patch, resolved inside the experiment's own folder only: a relative name with no
    `..`, and no link anywhere from the folder down (a clone writes this name; a path from it is data)."""
    from ..errors import UnsafePath
    from ..storage.paths import safe_relative

    try:
        rel = safe_relative(name, "its experiment folder")  # type: ignore[arg-type]
    except UnsafePath:
        return None
    path = folder
    for part in rel.parts:
        path = path / part
        if path.is_symlink():
            return None
    return path


def _label(commit: str | None, patch: Path | None) -> str | None:
    return None if commit is None else commit[:12] + ("+patch" if patch else "")


def code_diff(root: Path, a: ExperimentRecord, b: ExperimentRecord, max_bytes: int = DEFAULT_MAX_CODE_BYTES) -> CodeDiff:
    commit_a, patch_a, problems_a = source_of(a)
    commit_b, patch_b, problems_b = source_of(b)
    result = CodeDiff(a=_label(commit_a, patch_a), b=_label(commit_b, patch_b), problems=problems_a + problems_b)
    if commit_a is None or commit_b is None:
        return result
    top = toplevel(root)
    if top is None:
        result.problems.append(f"{root} is not in a git repository")
        return result
    with scratch_dir(root) as scratch:
        try:
            env_a, env_b = scratch_env(top, scratch, "a"), scratch_env(top, scratch, "b")
            tree_a = tree_of(top, commit_a, patch_a, env_a)
            tree_b = tree_of(top, commit_b, patch_b, env_b)
        except TreeProblem as exc:
            result.problems.append(str(exc))
            return result
        base = ["diff", "--no-color", "--no-ext-diff", "--no-renames"]
        status = git(root, *base, "--name-status", "-z", tree_a, tree_b, *NOT_STORE, env=env_a)
        counts = git(root, *base, "--numstat", "-z", tree_a, tree_b, *NOT_STORE, env=env_a)
        text = git(root, *base, tree_a, tree_b, *NOT_STORE, env=env_a)
    if status is None or status.returncode != 0:
        result.problems.append("git diff failed")
        return result
    fields = [f for f in status.stdout.decode("utf-8", "surrogateescape").split("\0") if f]
    numbers: dict[str, tuple[int | None, int | None]] = {}
    for entry in (counts.stdout.decode("utf-8", "surrogateescape").split("\0") if counts else []):
        parts = entry.split("\t")
        if len(parts) == 3:
            numbers[parts[2]] = (int(parts[0]) if parts[0].isdigit() else None,
                                 int(parts[1]) if parts[1].isdigit() else None)
    for kind, path in zip(fields[0::2], fields[1::2]):
        added, removed = numbers.get(path, (None, None))
        result.files.append(FileChange(path=path, status=kind[:1], added=added, removed=removed))
    body = text.stdout.decode("utf-8", "replace") if text is not None else ""
    if len(body.encode("utf-8")) > max_bytes:
        cut = body.encode("utf-8")[:max_bytes].decode("utf-8", "ignore")
        body = cut[: cut.rfind("\n") + 1]
        result.truncated = True
    result.diff = body
    result.same = not result.files
    return result


def _datasets(record: ExperimentRecord) -> dict[str, Any]:
    meta = record.meta
    if meta is None:
        return {}
    out: dict[str, Any] = {d.name: d for d in meta.datasets}
    if meta.data_version:
        out["data_version"] = meta.data_version
    return out


def data_changes(a: ExperimentRecord, b: ExperimentRecord) -> Changes:
    """Datasets by name, told apart by fingerprint (DVC hash, else content hash); `data_version` too."""
    da, db = _datasets(a), _datasets(b)

    def shown(value: Any) -> Any:
        return value if isinstance(value, str) else describe(value)

    def key(value: Any) -> Any:
        return value if isinstance(value, str) else (value.kind, value.fingerprint, value.rows, value.columns)

    return Changes(added={k: shown(db[k]) for k in sorted(db) if k not in da},
                   removed={k: shown(da[k]) for k in sorted(da) if k not in db},
                   changed={k: [shown(da[k]), shown(db[k])] for k in sorted(da)
                            if k in db and key(da[k]) != key(db[k])})


def environment_of(record: ExperimentRecord) -> dict[str, Any]:
    meta = record.meta
    if meta is None:
        return {}
    capture = meta.capture
    out: dict[str, Any] = {"python": meta.python, "platform": meta.platform,
                           "gpus": ", ".join(g.name for g in meta.gpus) or None}
    if capture is not None:
        out["command"] = " ".join(capture.argv) or None
        out["cwd"] = capture.cwd
        for name, seed in capture.seeds.items():
            out[f"seed.{name}"] = seed
    elif meta.command:
        out["command"] = " ".join(meta.command[1:]) or None
    return {k: v for k, v in out.items() if v is not None}


def diff_records(root: Path, a: ExperimentRecord, b: ExperimentRecord,
                 max_code_bytes: int = DEFAULT_MAX_CODE_BYTES) -> ExperimentDiff:
    """What changed from `a` to `b`."""
    return ExperimentDiff(
        a=a.id, b=b.id, params=changes(a.params, b.params), metrics=metric_deltas(a.metrics, b.metrics),
        code=code_diff(root, a, b, max_code_bytes), data=data_changes(a, b),
        environment=changes(environment_of(a), environment_of(b)),
        packages=changes(a.meta.packages if a.meta else {}, b.meta.packages if b.meta else {}),
    )


__all__ = ["DEFAULT_MAX_CODE_BYTES", "changes", "code_diff", "data_changes", "diff_records", "metric_deltas",
           "source_of"]
