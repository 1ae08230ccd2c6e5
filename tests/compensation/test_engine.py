"""Each tier semantic against figures computed by hand (the arithmetic is in the comments)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from salesops.compensation.engine import Deal, Split, calculate, credit, earn
from salesops.compensation.plan import Crediting
from salesops.errors import ValidationFailed
from tests.compensation.helpers import Q1, Q2, plan, rep, total
from tests.compensation.helpers import credit as c

TWO_TIERS = """
- name: commission
  semantics: {semantics}
  scope: {scope}
  reset: {reset}
  tiers:
    - {{from: 0, to: 100000, rate: 5%}}
    - {{from: 100000, rate: 10%}}
"""


def two_tiers(semantics: str = "marginal", scope: str = "accumulated", reset: str = "period"):  # type: ignore[no-untyped-def]
    return plan(TWO_TIERS.format(semantics=semantics, scope=scope, reset=reset))


def test_marginal_pays_each_slice_at_its_tier_rate() -> None:
    lines = earn(rep(two_tiers(), c(1, "60000"), c(2, "70000")), Q1)
    # deal 1: 60,000 x 5% = 3,000; deal 2: 40,000 x 5% = 2,000 and 30,000 x 10% = 3,000
    assert [(x.deals[0][0], x.tier, x.credited, x.amount) for x in lines] == [
        (1, "tier 1", Decimal(60000), Decimal("3000.00")),
        (2, "tier 1", Decimal(40000), Decimal("2000.00")),
        (2, "tier 2", Decimal(30000), Decimal("3000.00")),
    ]
    assert total(lines) == Decimal("8000.00")


def test_retroactive_pays_the_whole_amount_at_the_tier_reached() -> None:
    lines = earn(rep(two_tiers("retroactive"), c(1, "60000"), c(2, "70000")), Q1)
    # 130,000 reaches tier 2: 60,000 x 10% + 70,000 x 10% = 13,000
    assert [x.amount for x in lines] == [Decimal("6000.00"), Decimal("7000.00")]
    assert {x.tier for x in lines} == {"tier 2"}


def test_interpolated_rate_moves_in_a_line_between_tier_rates() -> None:
    p = plan("""
- name: commission
  semantics: interpolated
  tiers:
    - {from: 0, to: 100000, rate: 5%}
    - {from: 100000, to: 200000, rate: 10%}
    - {from: 200000, rate: 12%}
""")
    lines = earn(rep(p, c(1, "60000"), c(2, "70000")), Q1)
    # 130,000 is 30% into tier 2: rate 10% + (12% - 10%) x 0.3 = 10.6%
    # 60,000 x 10.6% = 6,360; 70,000 x 10.6% = 7,420
    assert [x.rate for x in lines] == [Decimal("0.106")] * 2
    assert [x.amount for x in lines] == [Decimal("6360.00"), Decimal("7420.00")]


def test_tiers_on_attainment_scale_with_the_quota() -> None:
    p = plan("""
- name: commission
  basis: attainment
  tiers:
    - {from: 0, to: 1.0, rate: 8%}
    - {from: 1.0, rate: 12%, label: accelerator}
""")
    lines = earn(rep(p, c(1, "80000"), c(2, "40000"), quota="100000"), Q1)
    # quota 100,000: deal 1 80,000 x 8% = 6,400; deal 2 20,000 x 8% = 1,600, 20,000 x 12% = 2,400
    assert [x.amount for x in lines] == [Decimal("6400.00"), Decimal("1600.00"), Decimal("2400.00")]
    assert lines[-1].tier == "accelerator"
    assert total(lines) == Decimal("10400.00")


def test_decelerator_pays_less_above_the_quota() -> None:
    p = plan("""
- name: commission
  basis: attainment
  tiers:
    - {from: 0, to: 1.5, rate: 10%}
    - {from: 1.5, rate: 2%, label: decelerator}
""")
    # quota 100,000: 150,000 x 10% = 15,000; 50,000 x 2% = 1,000
    assert total(earn(rep(p, c(1, "200000"), quota="100000"), Q1)) == Decimal("16000.00")


def test_per_transaction_tiers_each_deal_on_its_own() -> None:
    p = plan("""
- name: commission
  semantics: retroactive
  scope: transaction
  tiers:
    - {from: 0, to: 50000, rate: 5%}
    - {from: 50000, rate: 10%}
""")
    lines = earn(rep(p, c(1, "40000"), c(2, "60000")), Q1)
    # deal 1 40,000 x 5% = 2,000; deal 2 60,000 x 10% = 6,000 (accumulated would be 10,000)
    assert [x.amount for x in lines] == [Decimal("2000.00"), Decimal("6000.00")]


def test_year_accumulation_carries_prior_attainment_into_the_next_period() -> None:
    deals = (c(1, "80000", date(2026, 2, 1)), c(2, "50000", date(2026, 5, 1)))
    year = earn(rep(two_tiers(reset="year"), *deals), Q2)
    # 80,000 carried in: 20,000 x 5% = 1,000 then 30,000 x 10% = 3,000
    assert total(year) == Decimal("4000.00")
    reset = earn(rep(two_tiers(reset="period"), *deals), Q2)
    assert total(reset) == Decimal("2500.00")  # 50,000 x 5%, tiers start again at 0


def test_retroactive_over_the_year_re_rates_earlier_credit() -> None:
    deals = (c(1, "80000", date(2026, 2, 1)), c(2, "50000", date(2026, 5, 1)))
    q1 = earn(rep(two_tiers("retroactive", reset="year"), *deals), Q1)
    q2 = earn(rep(two_tiers("retroactive", reset="year"), *deals), Q2)
    assert total(q1) == Decimal("4000.00")  # 80,000 x 5%
    # Q2: 50,000 x 10% = 5,000, and the Q1 80,000 re-rated (10% - 5%) x 80,000 = 4,000
    assert [(x.kind, x.amount) for x in q2] == [
        ("commission", Decimal("5000.00")),
        ("reprice", Decimal("4000.00")),
    ]
    assert q2[1].deals == ((1, Decimal(80000)),)
    assert total(q1) + total(q2) == Decimal("13000.00")  # 130,000 x 10%


def test_threshold_pays_nothing_below_it() -> None:
    p = plan("""
- name: commission
  threshold: 50%
  tiers: [{from: 0, rate: 10%}]
""")
    below = earn(rep(p, c(1, "40000"), quota="100000"), Q1)
    assert total(below) == 0
    assert below[0].kind == "threshold"
    assert total(earn(rep(p, c(1, "50000"), quota="100000"), Q1)) == Decimal("5000.00")


def test_gate_holds_until_the_annual_target_then_releases() -> None:
    p = plan("""
- name: accelerator
  gate: {ytd_attainment: 1.0}
  tiers: [{from: 0, rate: 5%}]
""")
    deals = (c(1, "120000", date(2026, 2, 1)), c(2, "90000", date(2026, 5, 1)))
    q1 = earn(rep(p, *deals, year="200000"), Q1)
    assert [(x.kind, x.amount) for x in q1] == [("held", Decimal("0.00"))]
    assert "6000.00" in q1[0].note  # 120,000 x 5% held
    q2 = earn(rep(p, *deals, year="200000"), Q2)
    # YTD 210,000 >= 200,000: Q2 90,000 x 5% = 4,500 plus Q1's 6,000 released
    assert [(x.kind, x.amount) for x in q2] == [
        ("commission", Decimal("4500.00")),
        ("release", Decimal("6000.00")),
    ]


def test_caps_per_deal_hard_and_per_period_soft() -> None:
    hard = plan("""
- name: commission
  cap: {per_deal: 5000}
  tiers: [{from: 0, rate: 5%}]
""")
    lines = earn(rep(hard, c(1, "150000")), Q1)
    # 150,000 x 5% = 7,500; capped at 5,000: a -2,500 line
    assert [(x.kind, x.amount) for x in lines] == [
        ("commission", Decimal("7500.00")),
        ("cap", Decimal("-2500.00")),
    ]
    soft = plan("""
- name: commission
  cap: {per_period: 8000, soft_rate: 50%}
  tiers: [{from: 0, rate: 5%}]
""")
    # 200,000 x 5% = 10,000; 2,000 above the cap paid at 50%: -1,000 -> 9,000
    assert total(earn(rep(soft, c(1, "150000"), c(2, "50000")), Q1)) == Decimal("9000.00")


def test_bonus_on_attainment_and_spiff_per_qualifying_deal() -> None:
    p = plan("""
- {name: quota-club, kind: bonus, amount: 5000, at_attainment: 1.0}
- {name: new-logo, kind: spiff, amount: 500, deal_types: [new], min_deal_amount: 20000}
""")
    made = earn(rep(p, c(1, "30000"), c(2, "70000", kind="renewal"), quota="100000"), Q1)
    # 100,000 / 100,000 = 100%: bonus 5,000; only deal 1 is new and >= 20,000: 500
    assert [(x.rule, x.amount) for x in made] == [
        ("quota-club", Decimal("5000.00")),
        ("new-logo", Decimal("500.00")),
    ]
    missed = earn(rep(p, c(1, "10000"), c(2, "89999.99"), quota="100000"), Q1)
    assert [(x.rule, x.amount) for x in missed] == [("new-logo", Decimal("500.00"))]


def test_each_line_is_rounded_half_up_to_the_cent() -> None:
    p = plan("- {name: c, tiers: [{from: 0, rate: 3.3%}]}")
    # 33,333.33 x 3.3% = 1,099.99989 -> 1,100.00; 0.15 x 3.3% = 0.00495 -> 0.00
    lines = earn(rep(p, c(1, "33333.33"), c(2, "0.15")), Q1)
    assert [x.amount for x in lines] == [Decimal("1100.00"), Decimal("0.00")]
    half = plan("- {name: c, tiers: [{from: 0, rate: 50%}]}")
    assert earn(rep(half, c(1, "0.01")), Q1)[0].amount == Decimal("0.01")  # 0.005 -> 0.01


def test_crediting_splits_overlays_and_manager_roll_up() -> None:
    deal = Deal(
        7, "Acme", date(2026, 2, 1), owner_id=1, type="new", acv=Decimal(100000),
        splits=(
            Split(1, Decimal("0.6")), Split(2, Decimal("0.4")), Split(3, Decimal("0.5"), "overlay"),
        ),
    )  # fmt: skip
    rules = Crediting(manager_levels=1)
    got = {(k.rep_id, k.reason): k.amount for k in credit([deal], rules, {1: 9, 2: 9, 9: 10})}
    # 60/40 revenue split; the overlay 50% on top; manager 9 gets both reps' shares, one level
    assert got == {
        (1, "split"): Decimal(60000), (2, "split"): Decimal(40000),
        (3, "overlay"): Decimal(50000),
        (9, "manager of 1"): Decimal(60000), (9, "manager of 2"): Decimal(40000),
    }  # fmt: skip
    revenue = [k for k in credit([deal], rules, {}) if k.reason != "overlay"]
    assert sum(k.amount for k in revenue) == deal.acv  # splits conserve credit


def test_revenue_splits_that_do_not_sum_to_100_percent_are_refused() -> None:
    deal = Deal(
        8, "Bad", date(2026, 2, 1), 1, "new", Decimal(1000),
        splits=(Split(1, Decimal("0.6")), Split(2, Decimal("0.3"))),
    )  # fmt: skip
    with pytest.raises(ValidationFailed, match=r"deal 8 \(Bad\): revenue splits sum to 90"):
        credit([deal], Crediting(), {})


def test_the_same_inputs_give_the_same_lines() -> None:
    reps = [rep(two_tiers("retroactive", reset="year"), c(1, "80000"), c(2, "50000"))]
    assert calculate(reps, Q1) == calculate(list(reps), Q1)


@pytest.mark.parametrize("amount", ["0", "50000", "99999.99", "100000", "100000.01", "250000"])
def test_marginal_never_pays_more_than_retroactive_for_rising_rates(amount: str) -> None:
    marginal = total(earn(rep(two_tiers(), c(1, amount)), Q1))
    retro = total(earn(rep(two_tiers("retroactive"), c(1, amount)), Q1))
    assert marginal <= retro


def test_payouts_never_fall_as_sales_rise_without_decelerator_or_cap() -> None:
    for semantics in ("marginal", "retroactive", "interpolated"):
        paid = [
            total(earn(rep(two_tiers(semantics), c(1, str(a))), Q1))
            for a in range(0, 300001, 12500)
        ]
        assert paid == sorted(paid), semantics


def test_contest_prize_goes_to_the_top_seller_and_ties_share_it() -> None:
    from dataclasses import replace

    from salesops.compensation.engine import RepInput

    p = plan("- {name: march-madness, kind: contest, amount: 1000, min_deal_amount: 10000}")

    def seller(rep_id: int, amount: str) -> RepInput:
        return RepInput(rep_id, p, (replace(c(rep_id, amount), rep_id=rep_id),))

    # reps 1 and 2 tie at 50,000; rep 3 (5,000) is below the 10,000 needed to be eligible
    lines = calculate([seller(1, "50000"), seller(2, "50000"), seller(3, "5000")], Q1)
    assert [(x.rep_id, x.kind, x.amount) for x in lines] == [
        (1, "contest", Decimal("500.00")),
        (2, "contest", Decimal("500.00")),
    ]
    assert "tie of 2" in lines[0].note
    three = calculate([seller(1, "50000"), seller(2, "50000"), seller(4, "50000")], Q1)
    assert [x.amount for x in three] == [Decimal("333.33")] * 3  # 1,000 / 3, half up per share
    alone = calculate([seller(1, "60000"), seller(2, "50000")], Q1)
    assert [(x.rep_id, x.amount) for x in alone] == [(1, Decimal("1000.00"))]
