"""The generator on its own: deterministic, exact in size, and with coherent event chains."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time

import pandas as pd
import pytest

from salesops.demo.generator import DemoSpec, generate
from salesops.errors import ValidationFailed
from salesops.pipeline.stages import DEFAULT_STAGES
from tests.demo.conftest import MemorySink, build

END = datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC)


def test_the_same_seed_builds_identical_rows() -> None:
    first, second = build(400, seed=11), build(400, seed=11)
    assert first.parts.keys() == second.parts.keys()
    for name in first.parts:
        assert first.table(name).equals(second.table(name)), name


def test_a_different_seed_builds_a_different_company() -> None:
    first, other = build(400, seed=11), build(400, seed=12)
    assert not first.table("opportunities").equals(other.table("opportunities"))
    assert not first.table("accounts").column("name").equals(other.table("accounts").column("name"))


def test_it_writes_exactly_the_requested_number_of_opportunities_across_chunks() -> None:
    sink = build(20_137)
    opportunities = sink.table("opportunities")
    assert opportunities.num_rows == 20_137
    ids = opportunities.column("id").to_pylist()
    assert sorted(ids) == list(range(1, 20_138))


def test_invalid_options_are_rejected_with_every_problem() -> None:
    with pytest.raises(ValidationFailed) as caught:
        generate(DemoSpec(opportunities=5, seed=-1), MemorySink())
    message = str(caught.value)
    assert "--opportunities" in message
    assert "--seed" in message


def test_history_covers_three_years_and_ends_on_the_end_date(
    company: dict[str, pd.DataFrame],
) -> None:
    opps, events = company["opportunities"], company["opportunity_events"]
    assert events["at"].max() <= pd.Timestamp(END)
    assert events["at"].max() >= pd.Timestamp("2026-10-30", tz="UTC")
    assert opps["created_at"].min() < pd.Timestamp("2023-11-01", tz="UTC")
    assert opps["created_at"].min() >= pd.Timestamp("2023-07-01", tz="UTC")


def _events(company: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return company["opportunity_events"].sort_values(["opportunity_id", "at", "id"])


def test_every_event_chain_is_coherent(company: dict[str, pd.DataFrame]) -> None:
    events = _events(company)
    changes = events[events["field"] != "created"]
    previous = changes.groupby(["opportunity_id", "field"])["new_value"].shift()
    linked = previous.notna()
    assert linked.sum() > 10_000
    mismatched = changes[linked & (changes["old_value"] != previous)]
    assert mismatched.empty, mismatched.head()
    created = events[events["field"] == "created"]
    assert created["opportunity_id"].is_unique
    assert len(created) == len(company["opportunities"])
    first = events.groupby("opportunity_id").head(1)
    assert (first["field"] == "created").all()
    # Each deal's first stage event leaves the stage it was created in.
    first_stage = changes[changes["field"] == "stage"].groupby("opportunity_id").head(1)
    start = created.set_index("opportunity_id")["new_value"]
    assert (
        first_stage["old_value"].to_numpy() == start[first_stage["opportunity_id"]].to_numpy()
    ).all()


def test_the_last_event_of_each_field_is_the_current_value(
    company: dict[str, pd.DataFrame],
) -> None:
    opps = company["opportunities"].set_index("id")
    stage_names = company["pipeline_stages"].set_index("id")["name"]
    current = {
        "stage": opps["stage_id"].map(stage_names),
        "amount": opps["amount"].map(str),
        "close_date": opps["close_date"].map(lambda d: d.isoformat()),
        "forecast_category": opps["forecast_category"],
        "owner": opps["owner_id"].map(str),
    }
    last = _events(company).groupby(["opportunity_id", "field"]).tail(1)
    for field, values in current.items():
        rows = last[last["field"] == field]
        assert len(rows) > 100, field
        expected = values[rows["opportunity_id"]].to_numpy()
        assert (rows["new_value"].to_numpy() == expected).all(), field


def test_event_values_use_the_canonical_text_forms(company: dict[str, pd.DataFrame]) -> None:
    events = company["opportunity_events"]
    names = {spec.name for spec in DEFAULT_STAGES}
    forms = {
        "stage": lambda v: v in names,
        "created": lambda v: v in names,
        "amount": lambda v: re.fullmatch(r"\d+\.\d\d", v) is not None,
        "close_date": lambda v: re.fullmatch(r"\d{4}-\d\d-\d\d", v) is not None,
        "forecast_category": lambda v: v
        in {"pipeline", "best_case", "commit", "closed", "omitted"},
        "owner": lambda v: int(v) in set(company["reps"]["id"]),
    }
    for field, valid in forms.items():
        values = events.loc[events["field"] == field, "new_value"]
        assert len(values) > 0, field
        assert values.map(valid).all(), field


def test_forecast_category_follows_the_stage(company: dict[str, pd.DataFrame]) -> None:
    events = company["opportunity_events"]
    stage = events[events["field"] == "stage"][["opportunity_id", "at", "new_value"]]
    forecast = events[events["field"] == "forecast_category"][["opportunity_id", "at", "new_value"]]
    both = stage.merge(forecast, on=["opportunity_id", "at"], how="left", suffixes=("", "_fc"))
    won = both[both["new_value"] == "Closed Won"]
    lost = both[both["new_value"] == "Closed Lost"]
    assert (won["new_value_fc"] == "closed").all()
    assert (lost["new_value_fc"] == "omitted").all()
    # Commit calls also happen ahead of the stage, as reps do.
    early = forecast.merge(stage, on=["opportunity_id", "at"], how="left", indicator=True)
    assert (early["_merge"] == "left_only").sum() > 50


def test_closed_deals_have_closed_at_and_open_ones_do_not(company: dict[str, pd.DataFrame]) -> None:
    opps = company["opportunities"]
    category = opps["stage_id"].map(company["pipeline_stages"].set_index("id")["category"])
    assert opps.loc[category != "open", "closed_at"].notna().all()
    assert opps.loc[category == "open", "closed_at"].isna().all()
    assert (category == "open").sum() > 200  # a live pipeline at the end date
    lost = opps[category == "lost"]
    assert lost["loss_reason"].notna().all()
    assert lost["loss_reason"].nunique() >= 6
    assert opps.loc[category != "lost", "loss_reason"].isna().all()
    closed = opps[category != "open"]
    assert (closed["closed_at"] > closed["created_at"]).all()
    assert (opps["engaged_at"].dropna() >= opps.loc[opps["engaged_at"].notna(), "created_at"]).all()


def test_events_and_activities_are_by_the_deal_owner_of_the_time(
    company: dict[str, pd.DataFrame],
) -> None:
    events, opps = company["opportunity_events"], company["opportunities"].set_index("id")
    user_of = company["reps"].set_index("id")["user_id"]
    moved = set(events.loc[events["field"] == "owner", "opportunity_id"])
    assert moved
    steady = events[~events["opportunity_id"].isin(moved) & (events["field"] != "owner")]
    owners = opps.loc[steady["opportunity_id"], "owner_id"].map(user_of).to_numpy()
    assert (steady["by_user_id"].to_numpy() == owners).all()
    handed = events[(events["field"] == "owner")]
    assert handed["by_user_id"].isna().all()
    activities = company["activities"]
    on_steady = activities[activities["opportunity_id"].notna()]
    on_steady = on_steady[~on_steady["opportunity_id"].isin(moved)]
    expected = opps.loc[on_steady["opportunity_id"].astype(int), "owner_id"].to_numpy()
    assert (on_steady["rep_id"].to_numpy() == expected).all()


@pytest.mark.parametrize("end", [date(2024, 2, 28), date(2025, 6, 30)])
def test_any_end_date_moves_the_whole_history(end: date) -> None:
    sink = MemorySink()
    generate(DemoSpec(opportunities=300, end=end), sink)
    events = sink.table("opportunity_events").to_pandas()
    last = pd.Timestamp(datetime.combine(end, time(23, 59, 59), tzinfo=UTC))
    assert last - pd.Timedelta(days=7) < events["at"].max() <= last
    created = sink.table("opportunities").to_pandas()["created_at"]
    assert created.min() >= pd.Timestamp(DemoSpec(end=end).start, tz="UTC")


def test_by_default_the_demo_ends_on_the_day_it_is_built_so_its_pipeline_is_current() -> None:
    today = datetime.now(UTC).date()
    spec = DemoSpec(opportunities=2_000, seed=7)
    assert spec.end == today
    sink = MemorySink()
    generate(spec, sink)
    opps = sink.table("opportunities").to_pandas()
    events = sink.table("opportunity_events").to_pandas()
    open_deals = opps[opps["closed_at"].isna()]
    last_change = events.groupby("opportunity_id")["at"].max().reindex(open_deals["id"])
    now = pd.Timestamp(datetime.combine(today, time(23, 59, 59), tzinfo=UTC))
    stalled = int((last_change < now - pd.Timedelta(days=30)).sum())
    overdue = int((open_deals["close_date"] < today).sum())
    # Seen the day it is built, the demo has a working pipeline (on 2026-12-07: 96 open
    # deals, 14 without a change in 30 days, 1 past its close date; with the old fixed end
    # of 2026-10-31 all 105 open deals were stalled and 38 past their close date).
    assert len(open_deals) > 50
    assert stalled < 0.3 * len(open_deals)
    assert overdue < 0.05 * len(open_deals)
    assert now - pd.Timedelta(days=3) < events["at"].max() <= now
