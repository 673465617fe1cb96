"""System metrics: sampled into metrics.jsonl under system/ keys when asked, absent by default."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from skill.errors import InvalidInput
from skill.tracking.system_metrics import DEFAULT_INTERVAL_S, SystemSampler, resolve_interval
from skill.tracking.track import track_experiment
from skill.storage.run_summary import full_log_bytes


def _keys(folder: Path) -> list[str]:
    text = full_log_bytes(folder).decode()
    return [json.loads(line)["key"] for line in text.splitlines() if line]


def _busy(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        sum(range(1000))


def test_points_land_in_metrics_jsonl_with_a_short_interval(project: Path) -> None:
    with track_experiment("sampled", system_metrics=0.05) as exp:
        exp.log_metric("loss", 1.0)
        _busy(0.4)
    keys = _keys(exp.path)
    assert keys.count("system/cpu_percent") >= 2  # periodic samples plus the one at the end
    assert "system/memory_percent" in keys and "system/memory_used_mb" in keys
    points = [json.loads(line) for line in full_log_bytes(exp.path).decode().splitlines()]
    cpu = [p for p in points if p["key"] == "system/cpu_percent"]
    assert [p["step"] for p in cpu] == list(range(len(cpu)))
    assert all(0.0 <= p["value"] <= 100.0 for p in cpu)
    assert "loss" in keys  # the run's own metrics are untouched


def test_off_by_default_leaves_no_system_points(project: Path) -> None:
    with track_experiment("plain") as exp:
        exp.log_metric("loss", 1.0)
        _busy(0.2)
    assert _keys(exp.path) == ["loss"]


def test_environment_variable_turns_it_on_and_the_argument_wins(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPECWEAVE_SYSTEM_METRICS", "0.05")
    with track_experiment("by-env") as on:
        _busy(0.2)
    with track_experiment("explicit-off", system_metrics=False) as off:
        _busy(0.2)
    assert "system/cpu_percent" in _keys(on.path)
    assert not any(k.startswith("system/") for k in _keys(off.path))


@pytest.mark.parametrize(("setting", "env", "expected"), [
    (None, "", None), (None, "1", DEFAULT_INTERVAL_S), (None, "true", DEFAULT_INTERVAL_S), (None, "2.5", 2.5),
    (None, "off", None), (True, "", DEFAULT_INTERVAL_S), (False, "1", None), (0.5, "", 0.5), (3, "0", 3.0),
])
def test_resolve_interval(setting, env, expected, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPECWEAVE_SYSTEM_METRICS", env)
    assert resolve_interval(setting) == expected


@pytest.mark.parametrize("bad", [0, -1, "often", 10_000])
def test_bad_settings_are_refused_before_any_folder_is_made(bad, project: Path) -> None:
    with pytest.raises(InvalidInput, match="system_metrics"):
        track_experiment("bad", system_metrics=bad)
    assert not list(project.glob(".specweave/increments/*/experiments/exp-*"))


def test_bad_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPECWEAVE_SYSTEM_METRICS", "sometimes")
    with pytest.raises(InvalidInput, match="SPECWEAVE_SYSTEM_METRICS"):
        resolve_interval(None)


def test_sampler_works_without_psutil(run_py, project: Path) -> None:
    """psutil absent (blocked from import): /proc and os.getloadavg still give numbers."""
    code = (
        "import sys; sys.modules['psutil'] = None\n"
        "from skill.tracking.system_metrics import SystemSampler\n"
        "s = SystemSampler(); sum(range(3_000_000)); r = s.read()\n"
        "import json; print(json.dumps(r))\n"
    )
    values = json.loads(run_py(code, project).stdout)
    if Path("/proc/meminfo").exists():
        assert values["system/memory_percent"] > 0 and values["system/memory_used_mb"] > 0
        assert "system/cpu_percent" in values
    else:
        assert "system/load_avg_1m" in values


def test_gpu_keys_exactly_where_nvml_answers() -> None:
    """No NVIDIA driver (or no pynvml): no GPU keys and no error; with one: both keys per device."""
    from skill.tracking.system_metrics import _nvml

    readings = SystemSampler().read()
    gpu_keys = sorted(key for key in readings if key.startswith("system/gpu"))
    nvml = _nvml()
    if nvml is None:
        assert gpu_keys == []
    else:
        count = nvml.nvmlDeviceGetCount()
        assert gpu_keys == sorted(f"system/gpu{i}/{k}" for i in range(count) for k in ("memory_used_mb", "utilization"))
