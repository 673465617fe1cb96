"""The on-disk format's names in one place. The format is a public API: keep it stable."""

from __future__ import annotations

import re
from typing import Literal, get_args

# 2: the environment (python, platform, cpus, gpus, packages) lives once in environments/<hash>.yaml
# and metadata.yaml names it; version-1 folders, with the environment inline, still read everywhere.
# 3: the point log (metrics.jsonl) is git-ignored while the run lasts and then settled into the object
# store; git keeps metrics.summary.json, a bounded summary of each metric (see storage.run_summary).
SCHEMA_VERSION = 3

SPECWEAVE_DIR = ".specweave"
INCREMENTS_DIR = "increments"
EXPERIMENTS_DIR = "experiments"
STATE_DIR = "state"
ENVIRONMENTS_DIR = "environments"  # one file per environment, shared by every run that had it
EXPORTS_DIR = "exports"  # default place of export_experiments (git-ignored)
CACHE_DIR = "cache"
# Models and binary artifacts by sha256 (objects/sha256/ab/<the other 62 hex digits>): git-ignored, shared
# through a remote (`sw-ml artifacts push/pull`); metadata.yaml keeps their names, sizes and hashes.
OBJECTS_DIR = "objects"
OBJECTS_HASH = "sha256"
# Inside the cache: lock files, and temp files on their way to a rename (git never sees either).
LOCKS_DIR = "locks"
TMP_DIR = "tmp"
CLAIMS_DIR = "claims"    # experiment numbers claimed with mkdir, per increment
INDEX_DIR = "index"      # the read cache, one file per increment
LOGS_DIR = "logs"        # digests of long metric logs
STAGING_DIR = "staging"  # track_artifacts' staging folders
ACTIVE_INCREMENT_FILE = "active-increment.json"
LIVING_DOCS = ("docs", "internal", "architecture", "ml-experiments.md")

# Increment sub-folders that SpecWeave uses for increments out of the active flow.
INCREMENT_GROUPS = ("_archive", "_abandoned", "_paused")

PARAMS_FILE = "params.json"
METRICS_FILE = "metrics.json"
METRICS_LOG_FILE = "metrics.jsonl"
METRICS_SUMMARY_FILE = "metrics.summary.json"  # schema 3: what git keeps of the points
LOG_MARKER = ".gitignore"  # in a run folder: written by schema 3, says its metrics.jsonl is not in git
EDITS_FILE = "edits.jsonl"  # notes, tags and status set after a run, one per line, merged by union
METADATA_FILE = "metadata.yaml"
COMPARISON_FILE = "comparison.md"
DECISIONS_FILE = "decisions.jsonl"
# Another tracker's store kept inside an increment by configure_mlflow (git-ignored there).
MLFLOW_DB = "mlflow.db"

# Locked on what the run folder has rather than a lock file per run (storage.locks).
LOCK_FREE_TARGETS = frozenset({METADATA_FILE, METRICS_LOG_FILE})

# Files an experiment owns; an artifact may never take one of these names.
RESERVED_FILES = frozenset({PARAMS_FILE, METRICS_FILE, METRICS_LOG_FILE, METADATA_FILE, METRICS_SUMMARY_FILE,
                            EDITS_FILE})

INCREMENT_ID_RE = re.compile(r"^\d{4}[A-Z]?-[a-z0-9-]+$")
INCREMENT_NUMBER_RE = re.compile(r"^\d{4}[A-Z]?$")
# exp-<number>-<slug>.<uid>: the uid keeps folders of two clones apart when they merge.
EXPERIMENT_DIR_RE = re.compile(r"^exp-(?P<number>\d{3,})-(?P<slug>[a-z0-9][a-z0-9-]*)\.(?P<uid>[a-z0-9]{6})$")
EXPERIMENT_ID_RE = re.compile(r"^exp-(?P<number>\d{3,})(?:-(?P<slug>[a-z0-9][a-z0-9-]*))?$")

# The one spelling of the statuses: `crashed` is derived on read (a dead process), never written.
Status = Literal["running", "completed", "failed", "killed", "crashed"]
StoredStatus = Literal["running", "completed", "failed", "killed"]
STATUSES: tuple[str, ...] = get_args(Status)
STORED_STATUSES: tuple[str, ...] = get_args(StoredStatus)
FINAL_STATUSES = tuple(s for s in STORED_STATUSES if s != "running")

# A running experiment whose heartbeat is older than this is shown as crashed.
HEARTBEAT_INTERVAL_S = 10.0
HEARTBEAT_STALE_S = 120.0
FLUSH_INTERVAL_S = 1.0
