"""`sw-ml ui`: the experiments in a local, live web page, run as the dashboard's own module (`python -m specweave.ui`)."""

from __future__ import annotations

import argparse

from .command_kit import Commands, run_module

MODULE = "specweave.ui"


def ui(args: argparse.Namespace) -> int:
    return run_module(args, MODULE, "ui")


def register(commands: Commands) -> None:
    p = commands.add("ui", ui, "Open the experiments in a local, live web page (loopback, a token in the URL).",
                     "sw-ml ui --port 8766        # then open the printed http://127.0.0.1:8766/?token=...",
                     root=False, passthrough=MODULE)
    p.add_argument("options", nargs=argparse.REMAINDER, metavar="...",
                   help=f"the options of `python -m {MODULE}` (--root, --host, --port, --token)")
