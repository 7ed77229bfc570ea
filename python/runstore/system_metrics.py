"""System metrics of a run: CPU, memory, disk, network (psutil) and GPUs (pynvml).

Named as MLflow names them (``system/cpu_utilization_percentage``…), sampled on a
background thread every ``interval`` seconds and logged at steps 0, 1, 2, … in
one batch per sample.
"""

from __future__ import annotations

import logging
import os
import threading

from .store import now_ms

_log = logging.getLogger("runstore")

#: Seconds between samples unless set_system_metrics_sampling_interval or
#: MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL says otherwise (MLflow's default: 10).
DEFAULT_INTERVAL = 10.0
_interval: float | None = None


def set_sampling_interval(seconds: float | None) -> None:
    """Sets the sampling interval of runs started afterwards (None: back to the default)."""
    global _interval
    if seconds is not None and seconds <= 0:
        raise ValueError("the sampling interval must be positive")
    _interval = seconds


def sampling_interval() -> float:
    if _interval is not None:
        return _interval
    env = os.environ.get("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL")
    return float(env) if env else DEFAULT_INTERVAL


def _gpu_sampler():
    """A function returning GPU metrics, or None when pynvml or a GPU is missing."""
    try:
        import pynvml

        pynvml.nvmlInit()
        handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
    except Exception:
        return None
    if not handles:
        return None

    def sample() -> dict:
        out = {}
        for i, h in enumerate(handles):
            memory = pynvml.nvmlDeviceGetMemoryInfo(h)
            out[f"gpu_{i}_memory_usage_percentage"] = round(memory.used / memory.total * 100, 1)
            out[f"gpu_{i}_memory_usage_megabytes"] = memory.used / 1e6
            out[f"gpu_{i}_utilization_percentage"] = pynvml.nvmlDeviceGetUtilizationRates(h).gpu
            try:
                watts = pynvml.nvmlDeviceGetPowerUsage(h) / 1000
                limit = pynvml.nvmlDeviceGetEnforcedPowerLimit(h) / 1000
                out[f"gpu_{i}_power_usage_watts"] = watts
                out[f"gpu_{i}_power_usage_percentage"] = watts / limit * 100 if limit else 0.0
            except Exception:
                pass
        return out

    return sample


def sample_once(psutil, net_base) -> dict:
    """One sample of the host's metrics (without the ``system/`` prefix)."""
    memory = psutil.virtual_memory()
    disk = psutil.disk_usage(os.sep)
    net = psutil.net_io_counters()
    return {
        "cpu_utilization_percentage": psutil.cpu_percent(),
        "system_memory_usage_megabytes": memory.used / 1e6,
        "system_memory_usage_percentage": memory.used / memory.total * 100,
        "disk_usage_percentage": disk.percent,
        "disk_usage_megabytes": disk.used / 1e6,
        "disk_available_megabytes": disk.free / 1e6,
        "network_receive_megabytes": (net.bytes_recv - net_base.bytes_recv) / 1e6,
        "network_transmit_megabytes": (net.bytes_sent - net_base.bytes_sent) / 1e6,
    }


class SystemMetricsMonitor:
    """Logs system metrics of one run until :meth:`stop`."""

    def __init__(self, client, run_id: str, interval: float | None = None):
        import psutil  # raises ImportError when psutil is missing: the caller decides

        self._psutil = psutil
        self._client = client
        self._run_id = run_id
        self._interval = interval or sampling_interval()
        self._stop = threading.Event()
        self._gpu = _gpu_sampler()
        self._thread = threading.Thread(target=self._loop, name=f"runstore-system-metrics-{run_id[:8]}", daemon=True)

    def start(self) -> None:
        self._psutil.cpu_percent()  # the first call only starts psutil's CPU clock
        self._net_base = self._psutil.net_io_counters()
        self._thread.start()

    def _loop(self) -> None:
        step = 0
        while not self._stop.wait(self._interval):
            try:
                values = sample_once(self._psutil, self._net_base)
                if self._gpu is not None:
                    values.update(self._gpu())
                ts = now_ms()
                points = [(f"system/{k}", float(v), ts, step) for k, v in values.items()]
                self._client.log_batch(self._run_id, metrics=points)
                step += 1
            except Exception as err:  # a sample must never kill the training process
                _log.warning("runstore: system metrics of run %s: %s", self._run_id, err)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=max(5.0, self._interval))
