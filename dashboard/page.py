"""The one page, in its three modes: live (`sw-ml ui`: data from the server's API, pushed changes),
report (the data inside the file) and app (the data from the MCP App's tool result)."""

from __future__ import annotations

import html
import json
from typing import Any

from .assets import inline_scripts, static_text

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{csp}<link rel="icon" href="data:,">
<title>{title}</title>
<style>
{css}
</style>
</head>
<body class="mode-{mode}">
<script id="sw-config" type="application/json">{config}</script>
{data}{scripts}
</body></html>
"""

# What the live page may load: only what this server serves (no other origin, no inline code but ours).
LIVE_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
            "form-action 'none'")
# A report opened from file://: nothing may be fetched from anywhere.
OFFLINE_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:; "
               "base-uri 'none'; form-action 'none'")


def json_for_script(data: Any) -> str:
    """JSON that is safe inside a <script> element (no `</script>`, no `<!--`)."""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"),
                                                         allow_nan=False)
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def render_page(mode: str, *, title: str, config: dict[str, Any], data_json: str | None = None,
                live_scripts: str | None = None) -> str:
    csp = {"live": LIVE_CSP, "report": OFFLINE_CSP}.get(mode)
    data = f'<script id="sw-data" type="application/json">{json_for_script(data_json)}</script>\n' if data_json else ""
    return PAGE.format(
        csp=f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n' if csp else "",
        title=html.escape(title), css=static_text("app.css"), mode=mode,
        config=json_for_script({**config, "mode": mode}), data=data,
        scripts=live_scripts if live_scripts is not None else inline_scripts())


__all__ = ["LIVE_CSP", "OFFLINE_CSP", "json_for_script", "render_page"]
