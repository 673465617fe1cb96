"""System metrics while a run is open: CPU, memory and, where NVML answers, GPU use.

Off by default. On with `track_experiment(..., system_metrics=True)` (every
5 s), a number of seconds (`system_metrics=2`), or the environment variable
`SPECWEAVE_SYSTEM_METRICS=1` (or `=2.5` for the interval); an explicit
`system_metrics=False` wins over the variable.

Each open experiment gets a small daemon thread that samples every interval
and once more when the run ends, and logs through the experiment's own metric
logger, so the points land in `metrics.jsonl` like any other:

    system/cpu_percent          busy share of all CPUs since the previous sample
    system/memory_percent       memory in use (total - available) / total
    system/memory_used_mb
    system/process_memory_mb    resident memory of this process
    system/load_avg_1m          where the OS has a load average
    system/gpu<i>/utilization   percent, per GPU, where NVML answers
    system/gpu<i>/memory_used_mb

psutil (the `system` extra) is used when installed; without it the numbers
come from /proc and os.getloadavg, and what the platform cannot tell is left
out rather than failing. pynvml (package `nvidia-ml-py`) is imported only
when sampling starts, and its absence or failure just means no GPU keys.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from ..errors import InvalidInput

ENV_VAR = "SPECWEAVE_SYSTEM_METRICS"
DEFAULT_INTERVAL_S = 5.0
_MAX_INTERVAL_S = 3600.0
_OFF = {"", "0", "false", "no", "off"}
_ON = {"1", "true", "yes", "on"}
_MB = 1024 * 1024

_nvml_lock = threading.Lock()
_nvml_state: dict[str, Any] = {}


def resolve_interval(setting: bool | float | None) -> float | None:
    """Seconds between samples, or None when system metrics are off."""
    source = "system_metrics"
    if setting is None:
        raw = os.environ.get(ENV_VAR, "").strip().lower()
        if raw in _OFF:
            return None
        if raw in _ON:
            return DEFAULT_INTERVAL_S
        source = f"environment variable {ENV_VAR}"
        try:
            setting = float(raw)
        except ValueError:
            raise InvalidInput(source, raw, "1/true to sample every 5 s, a number of seconds, or 0/false") from None
    if setting is False:
        return None
    if setting is True:
        return DEFAULT_INTERVAL_S
    if not isinstance(setting, (int, float)) or not 0 < float(setting) <= _MAX_INTERVAL_S:
        raise InvalidInput(source, setting,
                           f"True, False, None, or seconds between samples in (0, {_MAX_INTERVAL_S:g}]")
    return float(setting)


def _proc_cpu_times() -> tuple[float, float] | None:
    """(busy, total) jiffies from /proc/stat, or None off Linux."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = handle.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    values = [float(v) for v in fields[1:9]]  # user nice system idle iowait irq softirq steal (guest is in user)
    idle = values[3] + (values[4] if len(values) > 4 else 0.0)
    total = sum(values)
    return total - idle, total


def _proc_meminfo() -> tuple[float, float] | None:
    """(total, available) bytes from /proc/meminfo, or None."""
    found: dict[str, float] = {}
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                key, _, rest = line.partition(":")
                if key in ("MemTotal", "MemAvailable"):
                    found[key] = float(rest.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    if "MemTotal" not in found or "MemAvailable" not in found:
        return None
    return found["MemTotal"], found["MemAvailable"]


def _proc_rss() -> float | None:
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return float(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _nvml() -> Any | None:
    """The pynvml module, initialised once per process; None where there is no NVIDIA driver or package."""
    with _nvml_lock:
        if "module" not in _nvml_state:
            module = None
            try:
                import pynvml

                pynvml.nvmlInit()
                module = pynvml
            except Exception:  # not installed, no driver, no device: no GPU keys
                module = None
            _nvml_state["module"] = module
        return _nvml_state["module"]


class SystemSampler:
    """Reads the numbers; keeps the previous CPU times so each sample covers its own window."""

    def __init__(self) -> None:
        try:
            import psutil
        except ImportError:
            psutil = None
        self._psutil: Any = psutil
        self._process = psutil.Process() if psutil else None
        self._last_cpu = self._cpu_times()
        self._gpu = _nvml()

    def _cpu_times(self) -> tuple[float, float] | None:
        if self._psutil is None:
            return _proc_cpu_times()
        times = self._psutil.cpu_times()
        parts = times._asdict()
        total = sum(v for k, v in parts.items() if k not in ("guest", "guest_nice"))
        idle = parts.get("idle", 0.0) + parts.get("iowait", 0.0)
        return total - idle, total

    def read(self) -> dict[str, float]:
        out: dict[str, float] = {}
        now = self._cpu_times()
        if now is not None and self._last_cpu is not None and now[1] > self._last_cpu[1]:
            busy = (now[0] - self._last_cpu[0]) / (now[1] - self._last_cpu[1])
            out["system/cpu_percent"] = round(min(max(busy, 0.0), 1.0) * 100, 2)
        self._last_cpu = now
        if hasattr(os, "getloadavg"):
            try:
                out["system/load_avg_1m"] = round(os.getloadavg()[0], 3)
            except OSError:
                pass
        if self._psutil is not None:
            memory = self._psutil.virtual_memory()
            total, available = float(memory.total), float(memory.available)
            rss: float | None = float(self._process.memory_info().rss)
        else:
            found = _proc_meminfo()
            total, available = found if found else (0.0, 0.0)
            rss = _proc_rss()
        if total > 0:
            out["system/memory_percent"] = round((total - available) / total * 100, 2)
            out["system/memory_used_mb"] = round((total - available) / _MB, 1)
        if rss is not None:
            out["system/process_memory_mb"] = round(rss / _MB, 1)
        out.update(self._gpu_readings())
        return out

    def _gpu_readings(self) -> dict[str, float]:
        nvml = self._gpu
        if nvml is None:
            return {}
        out: dict[str, float] = {}
        try:
            for index in range(nvml.nvmlDeviceGetCount()):
                handle = nvml.nvmlDeviceGetHandleByIndex(index)
                out[f"system/gpu{index}/utilization"] = float(nvml.nvmlDeviceGetUtilizationRates(handle).gpu)
                out[f"system/gpu{index}/memory_used_mb"] = round(_gpu_memory_used(nvml, handle) / _MB, 1)
        except Exception:  # a driver hiccup or a GPU gone: stop asking rather than fail the run
            self._gpu = None
        return out


def _gpu_memory_used(nvml: Any, handle: Any) -> float:
    """Bytes in use as nvidia-smi counts them: the v2 query leaves out what the driver reserves."""
    version = getattr(nvml, "nvmlMemory_v2", None)
    if version is not None:
        try:
            return float(nvml.nvmlDeviceGetMemoryInfo(handle, version=version).used)
        except Exception:  # an older driver without the v2 query
            pass
    return float(nvml.nvmlDeviceGetMemoryInfo(handle).used)


class SystemMetricsThread:
    """Samples every `interval` seconds into `log(metrics, step)` until stopped, then once more."""

    def __init__(self, log: Callable[[dict[str, float], int], None], interval: float, name: str = "run"):
        self._log = log
        self._interval = interval
        self._stop = threading.Event()
        self._step = 0
        self._sampler: SystemSampler | None = None  # built in the thread: NVML start-up never delays the run
        self._thread = threading.Thread(target=self._loop, name=f"specweave-system-{name}", daemon=True)

    def start(self) -> SystemMetricsThread:
        self._thread.start()
        return self

    def _sample(self) -> None:
        if self._sampler is None:
            return
        try:
            values = self._sampler.read()
            if values:
                self._log(values, self._step)
                self._step += 1
        except Exception:  # a monitoring glitch must never hurt the training run
            pass

    def _loop(self) -> None:
        try:
            self._sampler = SystemSampler()
        except Exception:  # nothing to sample on this platform; the run goes on unobserved
            return
        while not self._stop.wait(self._interval):
            self._sample()
        self._sample()  # the last window, up to the end of the run

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

