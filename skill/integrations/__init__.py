"""Integrations with other trackers: MLflow (local store, team server, push), W&B, TensorBoard.

Each module imports its library lazily through `optional.require`, so the
core and the MCP server never pay for a library they do not use, and a
missing one is reported as `pip install 'specweave-ml[<extra>]'`.
"""
