"""`sw-ml artifacts push/pull/status`: share the object store. Registered by `specweave.cli.build_parser`.

Models and binary artifacts live in the git-ignored object store (`.specweave/objects/`); git carries
their names, sizes and hashes. These commands copy the objects to and from a remote (an fsspec URL:
a folder, s3://, gs://, az://, ssh://), configured once as `artifacts: {remote: URL}` in ml.yaml and confirmed by each user with
`sw-ml artifacts allow-remote` (or named with --to/--from or SPECWEAVE_ARTIFACTS_REMOTE).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

_EPILOG = "example:\n  "


def _project(args: argparse.Namespace) -> Any:
    from skill.project import Project

    return Project(getattr(args, "root", None))


def _report(args: argparse.Namespace, result: Any) -> int:
    if args.json:
        sys.stdout.write(json.dumps(result.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n")
    else:
        print(result.summary())
    return 0 if getattr(result, "ok", True) else 1


def cmd_push(args: argparse.Namespace) -> int:
    return _report(args, _project(args).push_artifacts(args.increment, args.to))


def cmd_pull(args: argparse.Namespace) -> int:
    return _report(args, _project(args).pull_artifacts(args.experiments or None, getattr(args, "from"),
                                                      increment=args.increment))


def cmd_status(args: argparse.Namespace) -> int:
    result = _project(args).artifacts_status(args.increment, args.experiments or None, verify=args.verify)
    _report(args, result)
    return 1 if result.missing or result.damaged else 0


def cmd_allow_remote(args: argparse.Namespace) -> int:
    remote, options, where = _project(args).allow_remote()
    shown = ", ".join(f"{k}={v}" for k, v in sorted(options.items())) or "none"
    print(f"allowed the artifacts remote {remote} (storage options: {shown}) for this repository; "
          f"recorded in {where}")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    result = _project(args).migrate(args.increment, args.experiments or None, dry_run=args.dry_run)
    return _report(args, result)


def _sub(sub: Any, name: str, func: Any, help_text: str, example: str, parents: list[Any]) -> Any:
    p = sub.add_parser(name, parents=parents, help=help_text, description=help_text, epilog=_EPILOG + example,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default=argparse.SUPPRESS, metavar="DIR", help="project root")
    p.set_defaults(func=func)
    return p


def register(add: Any, **parents: Any) -> None:
    """Add this module's commands with `add(name, func, help, example, parents)`."""
    as_json = parents["as_json"]
    group = add("artifacts", lambda args: 2, "Share the object store (models, binary and large artifacts kept "
                "out of git): push, pull, status.",
                "sw-ml artifacts push --to s3://team-bucket/ml-objects    # in another clone: sw-ml artifacts pull")
    sub = group.add_subparsers(dest="artifacts_action", metavar="ACTION")
    sub.required = True

    p = _sub(sub, "push", cmd_push, "Copy the object store's objects to the remote (those it lacks).",
             "sw-ml artifacts push 0042 --to s3://team-bucket/ml-objects", [as_json])
    p.add_argument("increment", nargs="?", help="only this increment's experiments (default: every increment)")
    p.add_argument("--to", metavar="URL", help="the remote, an fsspec URL: a folder, s3://bucket/prefix, gs://, "
                   "az://, ssh://host/path (default: $SPECWEAVE_ARTIFACTS_REMOTE, then artifacts.remote in "
                   ".specweave/ml.yaml once confirmed with `sw-ml artifacts allow-remote`)")

    p = _sub(sub, "pull", cmd_pull, "Fetch the objects experiments record from the remote, checking each sha256.",
             "sw-ml artifacts pull exp-003 exp-004      # no experiment: every one", [as_json])
    p.add_argument("experiments", nargs="*", metavar="EXP", help="experiments to fetch for (default: all)")
    p.add_argument("--from", metavar="URL", help="the remote (default: $SPECWEAVE_ARTIFACTS_REMOTE, then artifacts.remote in "
                   ".specweave/ml.yaml once confirmed with `sw-ml artifacts allow-remote`)")
    p.add_argument("--increment", help="look the experiments up in (or, with none named, take all of) this "
                   "increment")

    _sub(sub, "allow-remote", cmd_allow_remote, "Confirm, for this repository and this user, the remote (and "
         "storage options) that .specweave/ml.yaml names: it came with the repository, so it is not used before.",
         "sw-ml artifacts allow-remote      # again after a commit changes the remote", [])

    p = _sub(sub, "status", cmd_status, "Where the artifacts are in this clone: in git, in the object store, "
             "or missing (exit 1 when some must be pulled).", "sw-ml artifacts status --verify", [as_json])
    p.add_argument("experiments", nargs="*", metavar="EXP", help="only these experiments (default: all)")
    p.add_argument("--increment", help="only this increment")
    p.add_argument("--verify", action="store_true", help="hash every object here against its recorded sha256")

    p = add("migrate", cmd_migrate, "Move the point logs (metrics.jsonl) of schema 1 and 2 runs out of git into "
            "the object store, keeping a bounded summary in git; nothing else changes.",
            "sw-ml migrate 0042 --dry-run     # then: sw-ml migrate 0042; git add -A .specweave; sw-ml artifacts push",
            [as_json])
    p.add_argument("experiments", nargs="*", metavar="EXP", help="only these experiments (default: all)")
    p.add_argument("--increment", help="only this increment")
    p.add_argument("--dry-run", action="store_true", help="say what would move, move nothing")
