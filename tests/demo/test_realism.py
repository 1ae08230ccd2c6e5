"""The demo company behaves like a sales org: rates, seasonality, ramp, churn, hierarchy."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from tests.demo.conftest import build

Frames = dict[str, pd.DataFrame]


def _deals(company: Frames) -> pd.DataFrame:
    opps = company["opportunities"].copy()
    stages = company["pipeline_stages"].set_index("id")
    opps["category"] = opps["stage_id"].map(stages["category"])
    accounts = company["accounts"].set_index("id")
    opps["segment"] = opps["account_id"].map(accounts["segment"])
    opps["amount"] = opps["amount"].astype(float)
    return opps


def test_win_rates_are_those_of_a_b2b_sales_team(company: Frames) -> None:
    deals = _deals(company)
    closed = deals[deals["category"] != "open"]
    new_business = closed[closed["type"] != "renewal"]
    win_rate = (new_business["category"] == "won").mean()
    assert 0.2 <= win_rate <= 0.33
    renewals = closed[closed["type"] == "renewal"]
    assert 0.7 <= (renewals["category"] == "won").mean() <= 0.95
    by_segment = new_business.groupby("segment")["category"].apply(lambda c: (c == "won").mean())
    assert by_segment["SMB"] > by_segment["Enterprise"]
    assert set(deals["type"]) == {"new", "expansion", "renewal"}


def test_cycles_and_deal_sizes_grow_with_the_segment(company: Frames) -> None:
    deals = _deals(company)
    won = deals[(deals["category"] == "won") & (deals["type"] != "renewal")]
    days = (won["closed_at"] - won["created_at"]).dt.days
    cycle = days.groupby(won["segment"]).median()
    assert 25 <= cycle["SMB"] < cycle["Mid-Market"] < cycle["Enterprise"] <= 170
    size = won.groupby("segment")["amount"].median()
    assert size["SMB"] < size["Mid-Market"] < size["Enterprise"]
    # Lognormal: long right tail, mean well above the median.
    assert won["amount"].mean() > 1.2 * won["amount"].median()


def test_won_deals_bunch_at_the_end_of_quarters(company: Frames) -> None:
    deals = _deals(company)
    won = deals[deals["category"] == "won"]
    month_in_quarter = (won["closed_at"].dt.month - 1) % 3
    counts = month_in_quarter.value_counts()
    assert counts[2] > 1.4 * counts[0]
    assert counts[2] > counts[1]


def test_close_dates_slip_and_amounts_change_as_events(company: Frames) -> None:
    events = company["opportunity_events"]
    slips = events[events["field"] == "close_date"]
    later = slips[slips["new_value"] > slips["old_value"]]
    assert len(later) > 0.1 * len(company["opportunities"])
    assert (events["field"] == "amount").sum() > 0.15 * len(company["opportunities"])
    assert (events["field"] == "owner").sum() > 20
    reopened = events[(events["field"] == "stage") & (events["old_value"] == "Closed Lost")]
    assert 0 < len(reopened) < 0.02 * len(company["opportunities"])


def test_new_hires_ramp_and_book_less_in_their_first_months(company: Frames) -> None:
    deals = _deals(company)
    reps = company["reps"].set_index("id")
    won = deals[deals["category"] == "won"].copy()
    hire = pd.to_datetime(won["owner_id"].map(reps["hire_date"])).dt.tz_localize("UTC")
    won["tenure_months"] = (won["closed_at"] - hire).dt.days // 30
    sellers = reps[reps["title"].str.contains("Account Executive")]
    hired_in_history = sellers[pd.to_datetime(sellers["hire_date"]) > pd.Timestamp("2024-01-01")]
    mine = won[won["owner_id"].isin(hired_in_history.index)]
    per_month = mine.groupby("tenure_months")["amount"].sum() / hired_in_history.shape[0]
    early, ramped = per_month.loc[0:2].mean(), per_month.loc[6:12].mean()
    assert early < 0.5 * ramped


def test_quotas_are_ramped_and_attained_on_average(company: Frames) -> None:
    deals = _deals(company)
    quotas = company["quotas"]
    rep_quotas = quotas[quotas["rep_id"].notna()].copy()
    rep_quotas["ramp_factor"] = rep_quotas["ramp_factor"].astype(float)
    rep_quotas["amount"] = rep_quotas["amount"].astype(float)
    assert set(rep_quotas["ramp_factor"]) == {0.25, 0.5, 0.75, 1.0}
    won = deals[deals["category"] == "won"].copy()
    won["quarter"] = won["closed_at"].dt.tz_localize(None).dt.to_period("Q").dt.start_time.dt.date
    booked = won.groupby(["owner_id", "quarter"])["amount"].sum()
    keys = list(zip(rep_quotas["rep_id"].astype(int), rep_quotas["period_start"], strict=True))
    rep_quotas["booked"] = [booked.get(key, 0.0) for key in keys]
    settled = rep_quotas[
        (rep_quotas["ramp_factor"] == 1.0)
        & (rep_quotas["period_end"] < pd.Timestamp("2026-10-01").date())
    ]
    attainment = settled["booked"] / settled["amount"]
    assert 0.75 <= attainment.mean() <= 1.15
    assert 0.15 <= (attainment >= 1).mean() <= 0.5  # some above, many below
    # A ramped quota is the full quota times its ramp factor.
    segment = rep_quotas["rep_id"].map(
        company["reps"].set_index("id")["title"].str.extract(r"(SMB|Mid-Market|Enterprise)")[0]
    )
    full = (
        (rep_quotas["amount"] / rep_quotas["ramp_factor"])
        .groupby([segment, rep_quotas["period_start"]])
        .nunique()
    )
    assert (full == 1).all()
    teams = quotas[quotas["team_id"].notna()]
    top = teams[
        teams["team_id"] == company["teams"].loc[company["teams"]["parent_id"].isna(), "id"].iloc[0]
    ]
    assert len(top) == rep_quotas["period_start"].nunique()


def test_the_org_has_a_hierarchy_of_managers_users_and_teams(company: Frames) -> None:
    reps, users, teams = company["reps"], company["users"].set_index("id"), company["teams"]
    assert users["username"].is_unique
    assert users["username"].str.fullmatch(r"[a-z]+\d*").all()
    assert users["password_hash"].isna().all()
    role = reps["user_id"].map(users["role"])
    sellers = reps[role == "sales_rep"]
    managers = reps.set_index("id").loc[sellers["manager_id"].astype(int)]
    assert (managers["user_id"].map(users["role"]) == "manager").all()
    assert (role == "director").sum() == 4  # a CRO and three regional VPs
    assert teams["parent_id"].isna().sum() == 1
    assert set(teams.loc[teams["parent_id"].notna() & teams["region"].notna(), "region"]) == {
        "NA",
        "EMEA",
        "APAC",
    }
    assert teams["manager_id"].notna().all()
    left = reps[reps["termination_date"].notna()]
    assert 0.05 * len(sellers) < len(left) < 0.6 * len(sellers)
    assert not left["is_active"].any()
    deals = _deals(company)
    open_owners = set(deals.loc[deals["category"] == "open", "owner_id"])
    assert not open_owners & set(left["id"])  # their open deals were reassigned


def test_memberships_and_assignments_are_effective_dated(company: Frames) -> None:
    # Reorganisations need sibling teams, which only larger companies have.
    members = build(25_000).table("team_memberships").to_pandas()
    moved = members.groupby("rep_id")["team_id"].nunique()
    assert (moved > 1).sum() > 5
    members = company["team_memberships"]
    closed = members[members["valid_to"].notna()]
    assert (closed["valid_to"] > closed["valid_from"]).all()
    owners = company["account_owners"].sort_values(["account_id", "valid_from"])
    nxt = owners.groupby("account_id")["valid_from"].shift(-1)
    chained = nxt.notna()
    assert (owners.loc[chained, "valid_to"] == nxt[chained]).all()
    assert owners.groupby("account_id")["valid_to"].apply(lambda v: v.isna().sum()).eq(1).all()


def test_accounts_fall_inside_the_rules_of_their_territory(company: Frames) -> None:
    accounts = company["accounts"]
    rules = company["territories"].set_index("id")["rules"].map(json.loads)
    for _, account in accounts.sample(500, random_state=1).iterrows():
        rule = rules[account["territory_id"]]
        assert rule["region"] == account["region"]
        assert rule["segment"] == account["segment"]
        assert account["country"] in rule.get("countries", [account["country"]])
    low = accounts.groupby("segment")["employees"].min()
    assert low["Enterprise"] >= 2_000 > low["Mid-Market"] >= 200 > low["SMB"]
    assert accounts["parent_id"].notna().sum() > 0
    assert accounts["latitude"].between(-50, 70).all()
    assert set(accounts["buying_complexity"]) <= {1, 2, 3, 4, 5}


def test_leads_convert_at_source_dependent_rates(company: Frames) -> None:
    leads = company["leads"]
    rate = leads.groupby("source")["status"].apply(lambda s: (s == "converted").mean())
    assert rate["Referral"] > rate["Inbound Web"] > rate["Paid Search"]
    converted = leads[leads["status"] == "converted"]
    opps = company["opportunities"].set_index("id")
    linked = opps.loc[converted["converted_opportunity_id"].astype(int)]
    assert (linked["created_at"].to_numpy() == converted["converted_at"].to_numpy()).all()
    assert (linked["lead_source"].to_numpy() == converted["source"].to_numpy()).all()
    assert (converted["created_at"] < converted["converted_at"]).all()
    assert leads.loc[leads["status"] != "converted", "converted_opportunity_id"].isna().all()


def test_contracts_renew_or_churn(company: Frames) -> None:
    contracts = company["contracts"].set_index("id")
    assert {"active", "renewed", "churned", "expired"} <= set(contracts["status"])
    assert set(contracts["term_months"]) == {12, 24, 36}
    assert (contracts["end_date"] > contracts["start_date"]).all()
    renewals = contracts[contracts["renewal_of_id"].notna()]
    previous = contracts.loc[renewals["renewal_of_id"].astype(int)]
    assert (previous["status"] == "renewed").all()
    assert (renewals["start_date"].to_numpy() > previous["end_date"].to_numpy()).all()
    deals = _deals(company).set_index("id")
    source = deals.loc[contracts["opportunity_id"]]
    assert (source["category"] == "won").all()
    assert np.allclose(source["amount"].to_numpy(), contracts["value"].astype(float).to_numpy())


def test_activity_goes_quiet_on_deals_that_are_lost(company: Frames) -> None:
    deals = _deals(company).set_index("id")
    activities = company["activities"]
    on_deals = activities[activities["opportunity_id"].notna()]
    last = on_deals.groupby("opportunity_id")["occurred_at"].max()
    closed = deals.loc[last.index]
    quiet = (closed["closed_at"] - last).dt.days / (
        closed["closed_at"] - closed["created_at"]
    ).dt.days
    by_outcome = quiet.groupby(closed["category"]).median()
    assert by_outcome["lost"] > 2 * by_outcome["won"]
    assert set(activities["kind"]) == {"call", "email", "meeting"}
    assert activities["lead_id"].notna().sum() > 0
    assert (activities["occurred_at"] <= pd.Timestamp("2026-10-31 23:59:59", tz="UTC")).all()
