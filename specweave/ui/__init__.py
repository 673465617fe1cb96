"""The dashboard's face: `sw-ml ui` (`python -m specweave.ui`), a local, token-protected, live page of the
experiments over HTTP. It parses requests, calls Project and answers: the page, its files and every answer
come from the core (`skill.views.page` builds the page from the sources in `dashboard/`).

Nothing here is imported by `import specweave`, `track_experiment`, the CLI or the MCP server: `sw-ml ui`
runs this package as its own process.
"""
