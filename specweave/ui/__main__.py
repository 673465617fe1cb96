"""`python -m specweave.ui`: the same as `sw-ml ui` (which runs this)."""

from __future__ import annotations

import argparse
import sys

PROG = "sw-ml ui"


def build_parser() -> argparse.ArgumentParser:
    from .dashboard_http import DEFAULT_PORT

    parser = argparse.ArgumentParser(prog="python -m specweave.ui",
                                     description="Open the experiments in a local, live web page (loopback, a "
                                                 "token in the URL).")
    parser.add_argument("--root", default=None, help="the project's folder (default: found from here, as git does)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine "
                        "only)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port (default {DEFAULT_PORT}; 0 picks a free one)")
    parser.add_argument("--token", default=None, help="the access token (default: SPECWEAVE_UI_TOKEN, else a new "
                        "random one each start)")
    return parser


def main(argv: list[str] | None = None) -> int:
    from skill.errors import SpecweaveError

    from .dashboard_http import serve

    args = build_parser().parse_args(argv)
    try:
        serve(args.root, host=args.host, port=args.port, token=args.token)
    except SpecweaveError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
