"""The views of the experiments: the runs table, curves, parallel coordinates and scatter, one run,
compare. Rendered from the store here, served three ways by the faces: `sw-ml ui` (a local live
page), `sw-ml report` (one HTML file) and the MCP App (`view_experiments`). `Project`'s "views"
methods are the way in; this package imports nothing heavy.
"""
