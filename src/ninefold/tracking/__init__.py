"""Experiment tracking: runs, params, metric series, tags, artifacts and environment.

The fluent API (``start_run``, ``log_metric`` ...) lives in
:mod:`ninefold.tracking.fluent`; :class:`~ninefold.tracking.client.Client` is
the explicit, non-fluent API over the same stores.
"""
