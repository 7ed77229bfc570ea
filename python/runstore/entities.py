"""Runs, experiments and metric points as MLflow's client shows them.

Attribute names follow MLflow's entities (``run.info.run_id``,
``run.data.metrics``, ``experiment.experiment_id``…) so code written against
``mlflow`` reads runstore's answers unchanged. Built from the C API's JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Metric:
    """One metric point (MLflow's ``Metric``)."""

    key: str
    value: float
    timestamp: int
    step: int


@dataclass
class RunInfo:
    """A run's attributes (MLflow's ``RunInfo``)."""

    run_id: str
    experiment_id: str
    run_name: str
    user_id: str
    status: str
    start_time: int | None
    end_time: int | None
    lifecycle_stage: str
    artifact_uri: str

    @property
    def run_uuid(self) -> str:
        return self.run_id


@dataclass
class RunData:
    """A run's latest metrics, params and tags, as dicts (MLflow's ``RunData``)."""

    metrics: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    tags: dict = field(default_factory=dict)


@dataclass
class Run:
    """A run: ``info``, ``data`` and its dataset ``inputs`` (a list of dicts)."""

    info: RunInfo
    data: RunData
    inputs: list = field(default_factory=list)

    @classmethod
    def from_json(cls, doc: dict) -> Run:
        """A run from one run of the contract's search JSON."""
        info = RunInfo(
            run_id=doc["run_id"],
            experiment_id=str(doc.get("experiment_id", "")),
            run_name=doc.get("run_name") or "",
            user_id=doc.get("user") or "",
            status=doc.get("status", "RUNNING"),
            start_time=doc.get("start_time"),
            end_time=doc.get("end_time"),
            lifecycle_stage=doc.get("lifecycle_stage", "active"),
            artifact_uri=doc.get("artifact_uri") or "",
        )
        data = RunData(
            metrics={k: _number(v) for k, v in (doc.get("metrics") or {}).items()},
            params=dict(doc.get("params") or {}),
            tags=dict(doc.get("tags") or {}),
        )
        return cls(info=info, data=data, inputs=list(doc.get("inputs") or []))

    def to_dictionary(self) -> dict:
        """The run as a plain dict (what ``search_runs(output_format="list")`` gives without pandas)."""
        return {
            "info": dict(vars(self.info)),
            "data": {"metrics": dict(self.data.metrics), "params": dict(self.data.params), "tags": dict(self.data.tags)},
            "inputs": list(self.inputs),
        }


def _number(value) -> float:
    """A metric value from JSON: numbers, or the strings the contract uses for NaN and infinities."""
    if isinstance(value, str):
        return float({"Infinity": "inf", "-Infinity": "-inf"}.get(value, value))
    return float(value) if value is not None else float("nan")


@dataclass
class Experiment:
    """An experiment (MLflow's ``Experiment``)."""

    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    creation_time: int | None
    last_update_time: int | None
    tags: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, doc: dict) -> Experiment:
        return cls(
            experiment_id=str(doc["experiment_id"]),
            name=doc["name"],
            artifact_location=doc.get("artifact_location") or "",
            lifecycle_stage=doc.get("lifecycle_stage", "active"),
            creation_time=doc.get("creation_time"),
            last_update_time=doc.get("last_update_time"),
            tags=dict(doc.get("tags") or {}),
        )
