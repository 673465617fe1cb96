"""The dashboard face: `sw-ml ui` (a local, token-protected, live page), `sw-ml report` (one
self-contained HTML file) and the page of the MCP App, all drawing the core's views
(`skill.views`) with one page script (`static/app.js`) and BokehJS from the `bokeh` package.

Nothing here is imported by `import specweave`, `track_experiment` or the MCP server's start: the
CLI commands and the app's tool import it when they run.
"""
