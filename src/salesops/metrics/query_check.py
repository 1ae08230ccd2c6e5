"""What is asked of a metric, and the check that it may be asked that (no DB access).

Kept apart from the compiler so the services can build and check a query (naming every problem
at once) without reaching into how metrics compile.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from salesops.errors import ValidationFailed
from salesops.metrics.definitions import (
    SPECIAL_FACTS,
    Catalog,
    MetricDefinition,
    allowed_dimensions,
)
from salesops.metrics.dimensions import attribute_allowed
from salesops.metrics.periods import GRAIN_UNITS, Window


@dataclass(frozen=True)
class Query:
    """What is asked of a metric: slices, period grain, date window, filters, point in time."""

    by: tuple[str, ...] = ()
    grain: str | None = None
    window: Window = field(default_factory=Window)
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    as_of: datetime | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def keys(self) -> list[str]:
        return [*self.by, *(["period"] if self.grain else [])]


def check_query(metric: MetricDefinition, catalog: Catalog, query: Query) -> None:
    """Refuse dimensions, filters, grains and parameters the metric does not support, naming
    every problem at once."""
    problems = []
    allowed = allowed_dimensions(metric, catalog.metrics)
    for dim in {*query.by, *query.filters}:
        if dim not in allowed and not attribute_dimension_of(metric, dim):
            known = ", ".join(allowed) or "none"
            problems.append(f"{metric.name} cannot be sliced by {dim!r} (allowed: {known})")
    if query.grain is not None and query.grain not in GRAIN_UNITS:
        problems.append(f"unknown grain {query.grain!r} (use {', '.join(GRAIN_UNITS)})")
    elif query.grain is not None and query.grain not in metric.grains:
        problems.append(f"{metric.name} has no {query.grain!r} grain")
    if query.as_of is not None and not metric.point_in_time:
        problems.append(f"{metric.name} cannot be computed as of a past date")
    for name in query.params:
        if name not in all_params(metric, catalog):
            problems.append(f"{metric.name} has no parameter {name!r}")
    if problems:
        from salesops.errors import Problem

        raise ValidationFailed("invalid metric query", [Problem(p) for p in problems])


def attribute_dimension_of(metric: MetricDefinition, dimension: str) -> bool:
    """Whether `dimension` is a custom attribute the metric's own fact carries (formulas and
    shares are sliced by what their inputs share, named in the catalog)."""
    if metric.kind in ("formula", "share"):
        return False
    return attribute_allowed(dimension, SPECIAL_FACTS.get(metric.kind, metric.fact))


def all_params(metric: MetricDefinition, catalog: Catalog) -> dict[str, Any]:
    """The parameters of `metric` and the metrics it is built from, with their defaults."""
    result: dict[str, Any] = {}
    for other in [*metric.inputs.values(), *([metric.of] if metric.of else [])]:
        result.update(all_params(catalog.get(other), catalog))
    result.update(metric.params)
    return result
