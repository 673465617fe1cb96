"""`sw-ml show-experiment`: one run in full, as a person reads it."""

from __future__ import annotations

import argparse
from typing import Any

from .command_kit import Commands, open_project
from .output import print_json


def reproduction_lines(project: Any, meta: Any) -> list[str]:
    """The lines about reproduction: the capture, the datasets, any rerun and its verdict."""
    from skill.controls import shell_line

    out = []
    capture = meta.capture
    if capture is not None:
        code = (f"patch {capture.patch} ({len(capture.patch_files)} file(s))" if capture.patch
                else "no uncommitted changes" if meta.git.commit
                else "no commit recorded (no git repository, or one with no commit yet): its code is not recorded")
        out.append(f"  command:     {shell_line(capture.argv) or '?'} (in {capture.cwd or '?'}); {code}"
                   + ("; commit not on any remote" if capture.on_remote is False else ""))
        if capture.seeds:
            out.append(f"  seeds:       {', '.join(f'{k}={v}' for k, v in capture.seeds.items())}")
    for dataset in meta.datasets:
        out.append(f"  dataset:     {dataset.name}: {project.dataset_text(dataset)}")
    if meta.reproduces:
        verdict = f": {meta.reproduction.verdict} (rtol {meta.reproduction.rtol:g})" if meta.reproduction else ""
        out.append(f"  reproduces:  {meta.reproduces}{verdict}")
    for done in meta.reproduced_by:
        differs = f", differs on {', '.join(done.differs[:5])}" if done.differs else ""
        out.append(f"  reproduced:  {done.ts.strftime('%Y-%m-%d %H:%M')} by {done.rerun or '(no rerun)'}: "
                   f"{done.verdict} (rtol {done.rtol:g}{differs})")
    return out


def show_experiment(args: argparse.Namespace) -> int:
    project = open_project(args)
    if args.json:
        print_json(project.detail(args.experiment, args.increment))
        return 0
    record, metric_stats, stages = project.experiment_overview(args.experiment, args.increment)
    number = project.number_text
    meta = record.meta
    out = [f"{record.id}  ({record.status}{', damaged' if record.problems else ''})",
           f"  increment:   {record.increment}", f"  folder:      {record.path}"]
    if meta:
        out.append(f"  name:        {meta.name}")
        if meta.description:
            out.append(f"  description: {meta.description}")
        out.append(f"  started:     {meta.started.isoformat()}")
        if meta.duration_s is not None:
            out.append(f"  duration:    {project.duration_text(meta.duration_s)}")
        if meta.tags:
            out.append(f"  tags:        {', '.join(meta.tags)}")
        if meta.parent:
            out.append(f"  parent:      {meta.parent}" + (f" (stage {meta.stage})" if meta.stage else ""))
        if meta.git.commit:
            out.append(f"  git:         {meta.git.commit[:12]} {meta.git.branch or ''}"
                       f"{' (dirty)' if meta.git.dirty else ''}".rstrip())
        if meta.python:
            out.append(f"  python:      {meta.python.split()[0]} on {meta.platform or '?'}"
                       f" ({len(meta.packages)} packages recorded; --json lists them)")
        if meta.data_version:
            out.append(f"  data:        {meta.data_version}")
        out += reproduction_lines(project, meta)
    if record.params:
        out.append("params:")
        out += [f"  {k}: {v}" for k, v in sorted(record.params.items())]
    if record.metrics:
        out.append("metrics:")
        stats = {s.key: s for s in metric_stats}  # every point: min/max/best
        for k, v in sorted(record.metrics.items()):
            s = stats.get(k)
            line = f"  {k}: {number(v)}"
            if s is not None and s.count > 1 and s.min_step is not None:
                best = f"  best {number(s.best)} @ {s.best_step}" if s.best_step is not None else ""
                line += (f"  (min {number(s.min)} @ {s.min_step}, max {number(s.max)} @ {s.max_step}"
                         f"{best.replace('  ', ', ', 1)}; {s.count} points)  {s.sparkline}")
            out.append(line)
    if stages:
        out.append("stages:")
        for stage in stages:
            main = ", ".join(f"{k}={number(v)}" for k, v in sorted(stage.metrics.items())[:3])
            out.append(f"  {stage.meta.stage_order if stage.meta and stage.meta.stage_order is not None else '-'}. "
                       f"{stage.id} [{stage.meta.stage if stage.meta else ''}] {stage.status}"
                       + (f"  {main}" if main else ""))
    if meta and meta.artifacts:
        out.append("artifacts:")
        out += [f"  {a.name} ({a.size} bytes, sha256 {a.sha256[:12]}{project.artifact_place(a)})"
                for a in meta.artifacts]
    if meta and meta.notes:
        out.append("notes:")
        out += [f"  {n.ts.strftime('%Y-%m-%d %H:%M')}  {n.text.splitlines()[0] if n.text else ''}" for n in meta.notes]
    if record.problems:
        out.append("damaged:")
        out += [f"  {p}" for p in record.problems]
    print("\n".join(out))
    return 0


def register(commands: Commands) -> None:
    p = commands.add("show-experiment", show_experiment,
                     "Show one experiment: params, metrics, environment, notes, stages.",
                     "sw-ml show-experiment exp-003-xgboost", json=True)
    p.add_argument("experiment", help="exp-003, exp-003-xgboost, a slug, or 0042/exp-003")
    p.add_argument("--increment", help="look only in this increment")
