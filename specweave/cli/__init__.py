"""`sw-ml`: the command line face of specweave-ml.

Each command parses its arguments, calls one method of `skill.project.Project`, and formats the
result: a readable table for people, `--json` for scripts. One module per command or small group of
related commands, each command's arguments beside its handler; `main.py` assembles them, `output.py`
is the one place output goes through (control characters escaped, one JSON policy), `common.py` what
they share. Heavy modules (pandas, jinja2, pydantic) load only in the commands that need them, so
`sw-ml --help` is fast; `serve` and `ui` run their own modules (`python -m mcp_server`, the
dashboard's server) as they are, never importing another face.
"""

from .main import build_parser, main

__all__ = ["build_parser", "main"]
