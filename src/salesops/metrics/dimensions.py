"""Dimensions: the human-readable labels a metric is sliced and filtered by.

Each dimension is added to a fact as a label column (a rep's name, a team's name...). Team
membership is effective-dated: a deal counts for the team its owner belonged to on the metric's
date. Teams roll up the hierarchy: a deal of a sub-team also counts for every parent team, so
team rows overlap (a parent's figure includes its sub-teams') and do not sum to the total.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import ibis
import ibis.expr.datatypes as dt
from ibis.expr.types import Table, Value

from salesops.db.attributes import attribute_problems
from salesops.metrics.facts import FAR_FUTURE, NONE_LABEL, Context, Tables

OPPORTUNITY_DIMENSIONS = (
    "owner", "manager", "team", "territory", "region", "segment", "industry", "product",
    "lead_source", "competitor", "opportunity_type", "stage", "forecast_category",
)  # fmt: skip
REP_DIMENSIONS = ("owner", "manager", "team", "region")
FACT_DIMENSIONS: dict[str, tuple[str, ...]] = {
    "opportunities": OPPORTUNITY_DIMENSIONS,
    "stage_entries": (*OPPORTUNITY_DIMENSIONS[:-2], "stage"),
    "leads": (*REP_DIMENSIONS, "lead_source"),
    "quotas": REP_DIMENSIONS,
    "contracts": ("segment", "industry", "region", "territory"),
    "forecast_lines": ("team", "method"),
}
# The fact columns each dimension is derived from.
DIMENSION_COLUMNS: dict[str, tuple[str, ...]] = {
    "owner": ("owner_id",),
    "manager": ("owner_id",),
    "team": ("owner_id",),
    "region": ("owner_id", "account_id"),
    "territory": ("territory_id", "account_id"),
    "segment": ("account_id",),
    "industry": ("account_id",),
    "product": ("product_id",),
    "lead_source": ("lead_source",),
    "competitor": ("competitor",),
    "opportunity_type": ("type",),
    "stage": ("stage",),
    "forecast_category": ("forecast_category",),
}
# Custom attributes as dimensions: `attributes.<name>` (the deal's), `account_attributes.<name>`
# (its account's); current values, since attributes keep no history. The facts carrying each.
ATTRIBUTE_DIMENSIONS = {"attributes.": "opportunities", "account_attributes.": "accounts"}
ATTRIBUTE_FACTS: dict[str, tuple[str, ...]] = {
    "opportunities": ("attributes.", "account_attributes."),
    "stage_entries": ("attributes.", "account_attributes."),
    "contracts": ("account_attributes.",),
}
# A row-level-scoped source keeps every rep's name here (the organisation chart is public) while
# its `reps` table holds only the reps in scope: the manager label reads names from it.
REP_NAMES = "rep_names"
ALL_DIMENSIONS = tuple(dict.fromkeys(d for dims in FACT_DIMENSIONS.values() for d in dims))
_COLUMN_DIMENSIONS = {
    "lead_source": "lead_source",
    "competitor": "competitor",
    "opportunity_type": "type",
    "forecast_category": "forecast_category",
    "method": "method",
}


def attribute_dimension(dimension: str) -> tuple[str, str] | None:
    """(prefix, attribute name) of a custom-attribute dimension, else None."""
    for prefix in ATTRIBUTE_DIMENSIONS:
        if dimension.startswith(prefix):
            name = dimension.removeprefix(prefix)
            if name and not attribute_problems({name: None}):
                return prefix, name
    return None


def attribute_allowed(dimension: str, fact: str) -> bool:
    """Whether `dimension` is a custom-attribute dimension the fact `fact` can be sliced by."""
    found = attribute_dimension(dimension)
    return found is not None and found[0] in ATTRIBUTE_FACTS.get(fact, ())


def dimension_columns(dimension: str) -> tuple[str, ...]:
    """The fact columns a dimension's label is derived from."""
    found = attribute_dimension(dimension)
    if found is not None:
        return ("account_id",) if found[0] == "account_attributes." else ()
    return DIMENSION_COLUMNS.get(dimension, ())


def label_column(dimension: str) -> str:
    """The internal column holding a dimension's label (avoids clashing with fact columns)."""
    return f"dim__{dimension}"


def team_closure(ctx: Context) -> Table:
    """(descendant team id, ancestor team name) for every team and each of its ancestors."""
    parents = {team_id: parent for team_id, parent, _ in ctx.team_parents}
    names = {team_id: name for team_id, _, name in ctx.team_parents}
    rows_d: list[int] = []
    rows_a: list[str] = []
    for team_id in parents:
        seen: set[int] = set()
        current: int | None = team_id
        while current is not None and current not in seen:
            seen.add(current)
            rows_d.append(team_id)
            rows_a.append(names[current])
            current = parents.get(current)
    schema = ibis.schema({"cl_team_id": "int64", "cl_team_name": "string"})
    return ibis.memtable({"cl_team_id": rows_d, "cl_team_name": rows_a}, schema=schema)


def _label(value: Value) -> Value:
    return value.cast("string").fill_null(NONE_LABEL)


def add_dimensions(
    t: Table,
    dimensions: Iterable[str],
    tables: Tables,
    ctx: Context,
    *,
    on_date: str | None,
    team_leaf: bool = False,
) -> Table:
    """Add a label column for each of `dimensions` to fact `t` (keyed by owner_id etc.).

    With `team_leaf`, the team dimension is left as the owner's own team id (`tm_team`), to be
    rolled up the hierarchy with `roll_up_teams` after a first aggregation.
    """
    dims = list(dict.fromkeys(dimensions))
    reps = tables["reps"]
    accounts = tables.get("accounts")
    needs_account = {"segment", "industry", "region", "territory"} & set(dims)
    if needs_account and "account_id" in t.columns and accounts is not None:
        a = accounts.select(
            acc_id=accounts.id.cast("int64"),
            acc_segment=accounts.segment,
            acc_industry=accounts.industry,
            acc_region=accounts.region,
            acc_territory_id=accounts.territory_id.cast("int64"),
        )
        t = t.left_join(a, t.account_id == a.acc_id).drop("acc_id")
    for dim in dims:
        col = label_column(dim)
        if dim in _COLUMN_DIMENSIONS:
            t = t.mutate(**{col: _label(t[_COLUMN_DIMENSIONS[dim]])})
        elif dim == "stage":
            stage_col = "entered_stage" if "entered_stage" in t.columns else "stage"
            t = t.mutate(**{col: _label(t[stage_col])})
        elif dim == "owner":
            r = reps.select(o_id=reps.id.cast("int64"), o_name=reps.name)
            t = t.left_join(r, t.owner_id == r.o_id)
            t = t.mutate(**{col: _label(t.o_name)}).drop("o_id", "o_name")
        elif dim == "manager":
            r = reps.select(m_rep=reps.id.cast("int64"), m_mgr=reps.manager_id.cast("int64"))
            names = tables.get(REP_NAMES, reps)
            m = names.select(m_id=names.id.cast("int64"), m_name=names.name)
            lookup = r.left_join(m, r.m_mgr == m.m_id).select("m_rep", "m_name")
            t = t.left_join(lookup, t.owner_id == lookup.m_rep)
            t = t.mutate(**{col: _label(t.m_name)}).drop("m_rep", "m_name")
        elif dim == "region":
            if "owner_id" in t.columns:
                r = reps.select(g_id=reps.id.cast("int64"), g_region=reps.region)
                t = t.left_join(r, t.owner_id == r.g_id)
                region = t.g_region
                if "acc_region" in t.columns:
                    region = region.fill_null(t.acc_region)
                t = t.mutate(**{col: _label(region)}).drop("g_id", "g_region")
            else:
                t = t.mutate(**{col: _label(t.acc_region)})
        elif dim in ("segment", "industry"):
            source = f"acc_{dim}"
            value = t[source] if source in t.columns else ibis.null(dt.string)
            t = t.mutate(**{col: _label(value)})
        elif dim == "territory":
            t = _territory(t, tables)
        elif dim == "product":
            p = tables["products"]
            p = p.select(p_id=p.id.cast("int64"), p_name=p.name)
            t = t.left_join(p, t.product_id == p.p_id)
            t = t.mutate(**{col: _label(t.p_name)}).drop("p_id", "p_name")
        elif (found := attribute_dimension(dim)) is not None:
            t = _attribute(t, tables, col, *found)
        elif dim == "team" and team_leaf and "team_id" not in t.columns:
            t = leaf_team(t, tables, ctx, on_date)
        elif dim == "team":
            t = _team(t, tables, ctx, on_date)
        else:
            raise ValueError(f"unknown dimension {dim}")
    return t


@ibis.udf.scalar.builtin(name="json_extract_path_text")  # type: ignore[misc]
def _json_text(document: dt.JSON, key: str) -> str:  # type: ignore[empty-body]
    """One member of a JSON object as text (numbers and booleans as JSON writes them), in
    DuckDB and PostgreSQL alike (Ibis's own JSON unwrap compiles to invalid PostgreSQL)."""


def _attribute(t: Table, tables: Tables, col: str, prefix: str, name: str) -> Table:
    """The label of one custom attribute: its text, or the JSON text of a number or boolean
    (`12`, `2.5`, `true`); "(none)" where the record has no such attribute."""
    source = tables[ATTRIBUTE_DIMENSIONS[prefix]]
    if prefix == "attributes.":
        key = t.opportunity_id if "opportunity_id" in t.columns else t.id
    else:
        key = t.account_id
    if "attributes" not in source.columns:  # a source exported before attributes existed
        return t.mutate(**{col: _label(ibis.null(dt.string))})
    found = source.select(
        av_id=source.id.cast("int64"), av_text=_json_text(source.attributes.cast("json"), name)
    )
    t = t.mutate(av_key=key.cast("int64"))
    t = t.left_join(found, t.av_key == found.av_id)
    return t.mutate(**{col: _label(t.av_text)}).drop("av_key", "av_id", "av_text")


def _territory(t: Table, tables: Tables) -> Table:
    terr = tables["territories"]
    terr = terr.select(tr_id=terr.id.cast("int64"), tr_name=terr.name)
    key = t.territory_id if "territory_id" in t.columns else ibis.null(dt.int64)
    if "acc_territory_id" in t.columns:
        key = key.fill_null(t.acc_territory_id)
    t = t.mutate(tr_key=key)
    t = t.left_join(terr, t.tr_key == terr.tr_id)
    return t.mutate(**{label_column("territory"): _label(t.tr_name)}).drop(
        "tr_key", "tr_id", "tr_name"
    )


def _team(t: Table, tables: Tables, ctx: Context, on_date: str | None) -> Table:
    col = label_column("team")
    if "team_id" in t.columns:  # forecast lines name their scope: a team (with sub-teams)
        teams = tables["teams"]
        names = teams.select(ln_id=teams.id.cast("int64"), ln_name=teams.name)
        t = t.left_join(names, t.team_id == names.ln_id)
        return t.mutate(**{col: t.ln_name.fill_null("(company)")}).drop("ln_id", "ln_name")
    return roll_up_teams(leaf_team(t, tables, ctx, on_date), ctx)


LEAF_TEAM = "tm_team"


def leaf_team(t: Table, tables: Tables, ctx: Context, on_date: str | None) -> Table:
    """Add `tm_team`: the team the owner belonged to on `on_date` (null: none)."""
    tm = tables["team_memberships"]
    tm = tm.select(
        tm_rep=tm.rep_id.cast("int64"),
        tm_team=tm.team_id.cast("int64"),
        tm_from=tm.valid_from.cast("date"),
        tm_to=tm.valid_to.cast("date").fill_null(ibis.literal(FAR_FUTURE)),
    )
    when = t[on_date] if on_date else ibis.literal(ctx.now.date())
    t = t.mutate(tm_on=when)
    t = t.left_join(tm, [t.owner_id == tm.tm_rep, tm.tm_from <= t.tm_on, t.tm_on < tm.tm_to])
    return t.drop("tm_on", "tm_rep", "tm_from", "tm_to")


def roll_up_teams(t: Table, ctx: Context) -> Table:
    """Replace `tm_team` by the team label, one row per team and each team above it."""
    closure = team_closure(ctx)
    t = t.left_join(closure, t[LEAF_TEAM] == closure.cl_team_id)
    return t.mutate(**{label_column("team"): _label(t.cl_team_name)}).drop(
        LEAF_TEAM, "cl_team_id", "cl_team_name"
    )


def apply_filters(t: Table, filters: Mapping[str, Sequence[str]]) -> Table:
    """Keep rows whose dimension labels are among the given values."""
    for dim, values in filters.items():
        t = t.filter(t[label_column(dim)].isin([str(v) for v in values]))
    return t
