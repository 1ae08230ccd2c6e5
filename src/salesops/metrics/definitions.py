"""Metric definitions: the YAML catalog, its typed form, and validation that reports every problem.

The catalog shipped in the package (`metrics/catalog/*.yaml`) is loaded first; a user directory
(`Settings.metrics_dir`) may add metrics or replace shipped ones by name. Every problem in every
file is collected, with its file and metric, before anything fails.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from salesops.errors import Problem, ValidationFailed
from salesops.metrics import expressions
from salesops.metrics.dimensions import FACT_DIMENSIONS, attribute_allowed
from salesops.metrics.facts import FACT_COLUMNS, FACT_DATES

Kind = Literal[
    "aggregate",
    "ratio",
    "formula",
    "share",
    "ramp_time",
    "retention",
    "forecast_accuracy",
    "cohort_retention",
    "ramp_curve",
]
Unit = Literal["count", "money", "ratio", "days", "months", "money_per_day", "number"]
Agg = Literal["count", "count_distinct", "sum", "mean", "median", "min", "max", "sum_float"]
GRAINS: tuple[str, ...] = ("week", "month", "quarter", "year")
SPECIAL_FACTS = {
    "ramp_time": "quotas",
    "retention": "contracts",
    "forecast_accuracy": "forecast_lines",
    "cohort_retention": "contracts",
    "ramp_curve": "quotas",
}


class Measure(BaseModel):
    """An aggregation over the rows of a fact that pass `where` (and the metric's population)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agg: Agg
    expr: str = "id"
    where: list[str] = Field(default_factory=list)


class WrittenDefinition(BaseModel):
    """The definition in words, as it appears in docs/metrics.md."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    numerator: str
    denominator: str = "none (not a ratio)"
    date: str
    population: str
    aggregation: str
    currency: str = "not money"


class MetricDefinition(BaseModel):
    """One governed metric."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    label: str
    description: str
    kind: Kind
    unit: Unit
    definition: WrittenDefinition
    fact: str = "opportunities"
    date: str | None = None
    where: list[str] = Field(default_factory=list)
    measure: Measure | None = None
    numerator: Measure | None = None
    denominator: Measure | None = None
    inputs: dict[str, str] = Field(default_factory=dict)
    expression: str | None = None
    fill_zero: list[str] = Field(default_factory=list)
    of: str | None = None
    per: str = "owner"
    threshold: float = 1.0
    variant: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    dimensions: list[str] = Field(default_factory=list)
    grains: list[str] = Field(default_factory=lambda: list(GRAINS))
    point_in_time: bool = True
    higher_is_better: bool = True
    source: str = "builtin"

    @property
    def is_ratio(self) -> bool:
        return self.unit == "ratio"


@dataclass(frozen=True)
class Catalog:
    """All metrics by name, in catalog order."""

    metrics: Mapping[str, MetricDefinition]
    files: tuple[str, ...] = field(default=())

    def get(self, name: str) -> MetricDefinition:
        from salesops.errors import NotFound

        try:
            return self.metrics[name]
        except KeyError:
            known = ", ".join(sorted(self.metrics))
            raise NotFound(f"unknown metric {name!r} (known metrics: {known})") from None

    def __iter__(self) -> Any:
        return iter(self.metrics.values())

    def __len__(self) -> int:
        return len(self.metrics)


def _builtin_files() -> list[tuple[str, str]]:
    folder = resources.files("salesops.metrics") / "catalog"
    found = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith((".yaml", ".yml")):
            found.append((f"catalog/{entry.name}", entry.read_text(encoding="utf-8")))
    return found


def _user_files(directory: Path) -> list[tuple[str, str]]:
    if not directory.is_dir():
        raise ValidationFailed(
            "invalid metrics directory",
            [Problem("is not a directory", str(directory))],
        )
    return [
        (str(path), path.read_text(encoding="utf-8"))
        for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    ]


def _parse_file(
    location: str, text: str, source: str, problems: list[Problem]
) -> list[MetricDefinition]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{location}:{mark.line + 1}" if mark is not None else location
        problems.append(Problem(f"not valid YAML: {exc}", where))
        return []
    if data is None:
        return []
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
        problems.append(Problem("expected a mapping with a `metrics:` mapping inside", location))
        return []
    result = []
    for name, body in data["metrics"].items():
        where = f"{location}: {name}"
        if not isinstance(body, dict):
            problems.append(Problem("a metric must be a mapping of fields", where))
            continue
        try:
            result.append(MetricDefinition(name=str(name), source=source, **body))
        except ValidationError as exc:
            for error in exc.errors():
                loc = ".".join(str(p) for p in error["loc"])
                got = "" if error["type"] == "missing" else f" (got {error.get('input')!r})"
                problems.append(Problem(f"{loc}: {error['msg']}{got}", where))
    return result


def _check_expr(
    text: str, where: str, columns: Iterable[str], params: Mapping[str, Any]
) -> list[Problem]:
    try:
        parsed = expressions.parse(text)
    except expressions.ExpressionError as exc:
        return [Problem(str(exc), where)]
    problems = []
    known = set(columns)
    for name in sorted(parsed.columns - known):
        problems.append(
            Problem(
                f"unknown column {name!r} in {text!r} (known: {', '.join(sorted(known))})", where
            )
        )
    for name in sorted(parsed.params - set(params)):
        problems.append(Problem(f"unknown parameter params.{name} in {text!r}", where))
    return problems


def check_metric(
    metric: MetricDefinition, catalog: Mapping[str, MetricDefinition]
) -> list[Problem]:
    """Every problem with `metric` given the other metrics it may refer to."""
    where = f"{metric.source}: {metric.name}"
    problems: list[Problem] = []
    if not metric.name.isidentifier() or metric.name != metric.name.lower():
        problems.append(Problem("a metric name must be lower_snake_case", where))
    for grain in metric.grains:
        if grain not in GRAINS:
            problems.append(Problem(f"unknown grain {grain!r} (use {', '.join(GRAINS)})", where))
    fact = SPECIAL_FACTS.get(metric.kind, metric.fact)
    if metric.kind in ("aggregate", "ratio"):
        if fact not in FACT_COLUMNS:
            problems.append(
                Problem(f"unknown fact {fact!r} (use {', '.join(sorted(FACT_COLUMNS))})", where)
            )
            return problems
        columns = FACT_COLUMNS[fact]
        if metric.date is None:
            problems.append(
                Problem("`date` is required: which date places a row in a period", where)
            )
        elif metric.date not in FACT_DATES[fact]:
            problems.append(
                Problem(
                    f"date {metric.date!r} is not a date of {fact}"
                    f" (use {', '.join(FACT_DATES[fact])})",
                    where,
                )
            )
        for text in metric.where:
            problems += _check_expr(text, f"{where}.where", columns, metric.params)
        measures = {"measure": metric.measure}
        if metric.kind == "ratio":
            measures = {"numerator": metric.numerator, "denominator": metric.denominator}
        for label, measure in measures.items():
            if measure is None:
                problems.append(Problem(f"`{label}` is required for a {metric.kind} metric", where))
                continue
            problems += _check_expr(measure.expr, f"{where}.{label}", columns, metric.params)
            for text in measure.where:
                problems += _check_expr(text, f"{where}.{label}.where", columns, metric.params)
    if metric.kind in ("formula", "share"):
        allowed = set(allowed_dimensions(metric.model_copy(update={"dimensions": []}), catalog))
    else:
        allowed = set(FACT_DIMENSIONS.get(fact, ()))
    for dim in metric.dimensions:
        if dim not in allowed and not (
            metric.kind not in ("formula", "share") and attribute_allowed(dim, fact)
        ):
            problems.append(
                Problem(f"dimension {dim!r} is not available for this metric's data", where)
            )
    if metric.kind == "formula":
        if not metric.expression:
            problems.append(Problem("`expression` is required for a formula metric", where))
        for alias, other in metric.inputs.items():
            if other not in catalog:
                problems.append(Problem(f"input {alias} refers to unknown metric {other!r}", where))
        if metric.expression:
            problems += _check_expr(metric.expression, f"{where}.expression", metric.inputs, {})
    if metric.kind == "share" and (metric.of is None or metric.of not in catalog):
        problems.append(Problem(f"`of` must name a metric (got {metric.of!r})", where))
    return problems


def allowed_dimensions(
    metric: MetricDefinition,
    catalog: Mapping[str, MetricDefinition],
    _seen: frozenset[str] = frozenset(),
) -> list[str]:
    """The dimensions `metric` can be sliced by."""
    if metric.dimensions and metric.kind not in ("formula", "share"):
        return list(metric.dimensions)
    if metric.kind in ("formula", "share"):
        names = list(metric.inputs.values()) if metric.kind == "formula" else [metric.of or ""]
        common: list[str] | None = None
        for other in names:
            if other not in catalog or other in _seen:
                continue
            dims = allowed_dimensions(catalog[other], catalog, _seen | {metric.name})
            common = dims if common is None else [d for d in common if d in dims]
        result = common or []
        return [d for d in result if d in metric.dimensions] if metric.dimensions else result
    fact = SPECIAL_FACTS.get(metric.kind, metric.fact)
    return list(FACT_DIMENSIONS.get(fact, ()))


def _cycles(catalog: Mapping[str, MetricDefinition]) -> list[Problem]:
    problems = []
    for metric in catalog.values():
        stack: list[tuple[str, tuple[str, ...]]] = [(metric.name, (metric.name,))]
        while stack:
            name, path = stack.pop()
            current = catalog.get(name)
            if current is None:
                continue
            refs = list(current.inputs.values()) + ([current.of] if current.of else [])
            for ref in refs:
                if ref == metric.name:
                    chain = " -> ".join((*path, ref))
                    problems.append(Problem(f"metric refers to itself: {chain}", metric.name))
                    stack = []
                    break
                if ref not in path:
                    stack.append((ref, (*path, ref)))
    return problems


def build_catalog(files: Iterable[tuple[str, str, str]]) -> Catalog:
    """Build a catalog from (location, text, source) triples; raise with every problem found."""
    problems: list[Problem] = []
    metrics: dict[str, MetricDefinition] = {}
    locations = []
    for location, text, source in files:
        locations.append(location)
        for metric in _parse_file(location, text, source, problems):
            if metric.name in metrics and metrics[metric.name].source == source:
                problems.append(Problem("defined twice", f"{location}: {metric.name}"))
            metrics[metric.name] = metric
    for metric in metrics.values():
        problems += check_metric(metric, metrics)
    problems += _cycles(metrics)
    if problems:
        raise ValidationFailed(f"{len(problems)} problem(s) in the metric catalog", problems)
    return Catalog(metrics, tuple(locations))


def load_catalog(user_dir: Path | None = None) -> Catalog:
    """The shipped catalog plus the metrics in `user_dir`, validated together."""
    files = [(loc, text, loc) for loc, text in _builtin_files()]
    if user_dir is not None:
        files += [(loc, text, loc) for loc, text in _user_files(Path(user_dir))]
    return build_catalog(files)


def validate_directory(directory: Path) -> Catalog:
    """Validate the metric files in `directory` against the shipped catalog."""
    return load_catalog(directory)
