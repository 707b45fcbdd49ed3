"""ninefold: the whole MLOps loop in one package.

Example:
    >>> import ninefold as nf
    >>> with nf.start_run(experiment="demo", params={"C": 1.0}):  # doctest: +SKIP
    ...     nf.log_metric("acc", 0.93)
    >>> nf.search_runs("metrics.acc > 0.9", order_by=["metrics.acc desc"])  # doctest: +SKIP

Names are imported on first use so that ``import ninefold`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # tracking
    "ActiveRun": "ninefold.tracking.fluent",
    "start_run": "ninefold.tracking.fluent",
    "end_run": "ninefold.tracking.fluent",
    "active_run": "ninefold.tracking.fluent",
    "log_param": "ninefold.tracking.fluent",
    "log_params": "ninefold.tracking.fluent",
    "log_metric": "ninefold.tracking.fluent",
    "log_metrics": "ninefold.tracking.fluent",
    "set_tag": "ninefold.tracking.fluent",
    "set_tags": "ninefold.tracking.fluent",
    "log_artifact": "ninefold.tracking.fluent",
    "log_artifacts": "ninefold.tracking.fluent",
    "log_text": "ninefold.tracking.fluent",
    "log_dict": "ninefold.tracking.fluent",
    "log_figure": "ninefold.tracking.fluent",
    "flush": "ninefold.tracking.fluent",
    "get_run": "ninefold.tracking.fluent",
    "get_metric_history": "ninefold.tracking.fluent",
    "search_runs": "ninefold.tracking.fluent",
    "compare_runs": "ninefold.tracking.fluent",
    "list_artifacts": "ninefold.tracking.fluent",
    "download_artifacts": "ninefold.tracking.fluent",
    "Client": "ninefold.tracking.client",
    # registry
    "log_model": "ninefold.registry.api",
    "load_model": "ninefold.registry.api",
    "get_model_version": "ninefold.registry.api",
    "set_alias": "ninefold.registry.api",
    "delete_alias": "ninefold.registry.api",
    "alias_history": "ninefold.registry.api",
    "list_models": "ninefold.registry.api",
    "list_model_versions": "ninefold.registry.api",
    "set_model_version_tag": "ninefold.registry.api",
    "set_model_description": "ninefold.registry.api",
    "model_lineage": "ninefold.registry.api",
    "challenge": "ninefold.registry.gate",
    "GateDecision": "ninefold.registry.gate",
    # data
    "log_dataset": "ninefold.data.datasets",
    "get_dataset": "ninefold.data.datasets",
    "load_dataset_profile": "ninefold.data.datasets",
    # records and settings
    "Run": "ninefold.store.records",
    "RunStatus": "ninefold.store.records",
    "ModelVersion": "ninefold.store.records",
    "MetricPoint": "ninefold.store.records",
    "Settings": "ninefold.config",
    "load_settings": "ninefold.config",
    "parse_uri": "ninefold.uris",
    # pipelines
    "step": "ninefold.pipelines.definition",
    "pipeline": "ninefold.pipelines.definition",
    "seed_everything": "ninefold.pipelines.seeds",
    "reproduce": "ninefold.pipelines.reproduce",
    "add_schedule": "ninefold.pipelines.schedules",
    "list_schedules": "ninefold.pipelines.schedules",
    "remove_schedule": "ninefold.pipelines.schedules",
    "Scheduler": "ninefold.pipelines.scheduler",
    # errors
    "NinefoldError": "ninefold.errors",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ninefold' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from ninefold.config import Settings, load_settings
    from ninefold.data.datasets import get_dataset, load_dataset_profile, log_dataset
    from ninefold.errors import NinefoldError
    from ninefold.pipelines.definition import pipeline, step
    from ninefold.pipelines.reproduce import reproduce
    from ninefold.pipelines.scheduler import Scheduler
    from ninefold.pipelines.schedules import add_schedule, list_schedules, remove_schedule
    from ninefold.pipelines.seeds import seed_everything
    from ninefold.registry.api import (
        alias_history,
        delete_alias,
        get_model_version,
        list_model_versions,
        list_models,
        load_model,
        log_model,
        model_lineage,
        set_alias,
        set_model_description,
        set_model_version_tag,
    )
    from ninefold.registry.gate import GateDecision, challenge
    from ninefold.store.records import MetricPoint, ModelVersion, Run, RunStatus
    from ninefold.tracking.client import Client
    from ninefold.tracking.fluent import (
        ActiveRun,
        active_run,
        compare_runs,
        download_artifacts,
        end_run,
        flush,
        get_metric_history,
        get_run,
        list_artifacts,
        log_artifact,
        log_artifacts,
        log_dict,
        log_figure,
        log_metric,
        log_metrics,
        log_param,
        log_params,
        log_text,
        search_runs,
        set_tag,
        set_tags,
        start_run,
    )
