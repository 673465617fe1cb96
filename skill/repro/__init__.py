"""Reproduce any run, and diff any two.

- `capture`: what a run records in the background for its rebuild (patch, cwd, command, seeds, remote);
- `datasets`: `exp.log_dataset` fingerprints (files, folders, DataFrames, DVC-tracked paths);
- `gitwork`: the git plumbing both use (trees of commit + patch, without touching the checkout);
- `diff`: what changed between two runs; `reproduce`: rerun one in a fresh worktree, with a verdict;
- `results`: their answers as pydantic models (light: the MCP server's schemas are built from them).
"""
