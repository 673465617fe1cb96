"""`python -m mcp_server`: the same as `sw-ml serve`."""

from __future__ import annotations

import argparse
import sys

from .launch import add_serve_arguments, run_serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mcp_server",
                                     description="Serve this project's experiments over MCP.")
    add_serve_arguments(parser)
    return run_serve(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
