"""Expense monitoring: what runs use, what it costs, and budgets.

Every run started with ``nf.start_run`` samples its process tree (see
:mod:`ninefold.costs.sampler`; ``resources=False`` turns it off). Its usage is
priced with a reviewed price table (:mod:`ninefold.costs.prices`) into a cost
record per run; roll-ups, storage accounting, budgets with alerts and
estimates build on those records.

The library calls live in :mod:`ninefold.costs.api` and are re-exported here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ninefold.costs.api import (
        CostEstimate,
        CostReport,
        add_egress,
        budget_status,
        cost_report,
        delete_budget,
        estimate_run_cost,
        gc,
        list_budgets,
        price_table,
        refresh_costs,
        run_cost,
        set_budget,
        storage_report,
    )
    from ninefold.costs.prices import PriceTable, load_price_file
    from ninefold.costs.sampler import ResourceSampler

# Loaded on first use: every run imports the tracker from this package, and the
# library calls (reports, budgets, prices) are not needed for that.
_LAZY = {
    "PriceTable": "ninefold.costs.prices",
    "load_price_file": "ninefold.costs.prices",
    "ResourceSampler": "ninefold.costs.sampler",
}

__all__ = [
    "CostEstimate",
    "CostReport",
    "PriceTable",
    "ResourceSampler",
    "add_egress",
    "budget_status",
    "cost_report",
    "delete_budget",
    "estimate_run_cost",
    "gc",
    "list_budgets",
    "load_price_file",
    "price_table",
    "refresh_costs",
    "run_cost",
    "set_budget",
    "storage_report",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'ninefold.costs' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_LAZY.get(name, "ninefold.costs.api")), name)
    globals()[name] = value
    return value
