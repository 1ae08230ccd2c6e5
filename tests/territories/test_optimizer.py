"""The optimizer: brute force agrees, constraints hold, bad input is named before solving."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesops.errors import ValidationFailed
from salesops.territories.evaluate import explain, gini, greedy, objective, summarize
from salesops.territories.optimizer import AccountIn, Balance, RepIn, Settings, Weights, solve

REPS = [
    RepIn("ann", experience=0.9, knowledge={"Retail": 0.9}, quota=100, capacity=10),
    RepIn("bob", experience=0.3, knowledge={"Health": 0.8}, quota=50, capacity=10),
    RepIn("cy", experience=0.6, knowledge={}, quota=80, capacity=10, load=4),
]


def _accounts(seed: int, n: int) -> list[AccountIn]:
    rnd = random.Random(seed)
    return [
        AccountIn(
            f"a{i}",
            workload=rnd.choice([1.0, 2.0, 3.0]),
            potential=rnd.choice([10.0, 50.0, 90.0]),
            complexity=rnd.choice([0.2, 0.8]),
            industry=rnd.choice(["Retail", "Health", None]),
            current_rep=rnd.choice(["ann", "bob", "cy", None]),
        )
        for i in range(n)
    ]


def _feasible(accs: list[AccountIn], plan: dict[str, str], s: Settings) -> bool:
    summary = summarize(accs, REPS, plan, s)
    for b in s.balance:
        total = sum(v[b.measure] for v in summary.per_rep.values())
        if any(
            not b.lo * total / 3 - 1e-9 <= v[b.measure] <= b.hi * total / 3 + 1e-9
            for v in summary.per_rep.values()
        ):
            return False
    if any(summary.per_rep[r.id]["workload"] > (r.capacity or 0) - r.load + 1e-9 for r in REPS):
        return False
    return s.max_moves is None or summary.moves <= s.max_moves


def _brute(accs: list[AccountIn], s: Settings) -> float:
    best = float("inf")
    for combo in itertools.product([r.id for r in REPS], repeat=len(accs)):
        plan = dict(zip([a.id for a in accs], combo, strict=True))
        if _feasible(accs, plan, s):
            best = min(best, objective(accs, REPS, plan, s))
    return best


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), moves=st.sampled_from([None, 1, 2]))
def test_the_optimizer_matches_brute_force_on_small_instances(seed: int, moves: int | None) -> None:
    accs = _accounts(seed, 6)
    s = Settings(balance=(Balance("accounts", 0.5, 1.5),), max_moves=moves)
    best = _brute(accs, s)
    if best == float("inf"):
        with pytest.raises(ValidationFailed, match="infeasible"):
            solve(accs, REPS, s)
        return
    plan = solve(accs, REPS, s)
    assert plan.status == "optimal"
    assert _feasible(accs, plan.assignment, s)
    assert plan.objective == pytest.approx(best, abs=1e-6)
    assert plan.bound <= plan.objective + 1e-6
    assert plan.gap <= 1e-4


def test_locks_keep_accounts_and_the_plan_is_deterministic() -> None:
    accs = [*_accounts(3, 8)]
    accs[0] = AccountIn(
        "a0", potential=90, complexity=0.8, industry="Retail", current_rep="bob", locked=True
    )
    s = Settings(balance=(Balance("workload", 0.3, 1.7),))
    first, second = solve(accs, REPS, s), solve(accs, REPS, s)
    assert first.assignment["a0"] == "bob"
    assert first.assignment == second.assignment


def test_explanations_add_up_and_name_the_next_best_rep() -> None:
    # One account, two reps, no constraints: hand-computed with potential normalized to 1.
    reps = [
        RepIn("pro", experience=1.0, knowledge={"Retail": 1.0}, quota=100, complex_skill=1.0),
        RepIn("new", experience=0.0, knowledge={"Retail": 0.5}, quota=50, complex_skill=0.0),
    ]
    accs = [
        AccountIn(
            "x", workload=2, potential=40, complexity=0.5, industry="Retail", current_rep="new"
        )
    ]
    s = Settings(weights=Weights(disruption=0.25))
    plan = solve(accs, reps, s)
    # pro: 0 everywhere + disruption 0.25 x workload 2 = 0.5
    # new: experience 1, knowledge 0.5, quota 0.5, buying process 0.5 = 2.5
    assert plan.assignment == {"x": "pro"}
    assert plan.objective == pytest.approx(0.5)
    [e] = explain(accs, reps, plan.assignment, s)
    assert e.factors == {
        "experience": 0.0,
        "knowledge": 0.0,
        "quota": 0.0,
        "buying_process": 0.0,
        "load": 0.0,
    }
    assert (e.disruption, e.alternative, e.alternative_cost) == (0.5, "new", 2.5)
    assert e.moved_from == "new"
    assert "moved from new: costs 2.000 less" in e.why
    assert "mostly experience" in e.why


def test_bad_inputs_and_impossible_bands_are_named_before_solving() -> None:
    accs = [
        AccountIn("a", workload=-1),
        AccountIn("a", current_rep="zed"),
        AccountIn("b", locked=True),
    ]
    with pytest.raises(ValidationFailed) as bad:
        solve(accs, REPS, Settings())
    text = " | ".join(str(p) for p in bad.value.problems)
    assert "account 'a' appears twice" in text
    assert "must not be negative" in text
    assert "current rep 'zed' is not a known rep" in text
    assert "locked to its current owner, but it has none" in text
    big = [AccountIn("huge", workload=9), AccountIn("s1"), AccountIn("s2")]
    with pytest.raises(ValidationFailed) as bad:
        solve(big, REPS, Settings(balance=(Balance("workload", 0.5, 1.5),)))
    assert "account huge's workload alone (9) exceeds every rep's upper bound (at most 5.5)" in str(
        bad.value
    )


def test_the_optimizer_balances_tighter_than_greedy_with_no_more_moves() -> None:
    reps = [RepIn(f"r{j}", experience=0.5, capacity=40) for j in range(4)]
    rnd = random.Random(7)
    accs = [
        AccountIn(
            f"a{i}",
            workload=rnd.choice([1.0, 2.0, 5.0]),
            potential=rnd.uniform(1, 100),
            current_rep=f"r{rnd.randrange(4)}",
        )
        for i in range(40)
    ]
    s = Settings(balance=(Balance("workload", 0.95, 1.05),), weights=Weights(disruption=0.1))
    plan = solve(accs, reps, s)
    mine, base = (
        summarize(accs, reps, plan.assignment, s),
        summarize(accs, reps, greedy(accs, reps), s),
    )
    assert mine.spread["workload"] <= 1.05 / 0.95 + 1e-9
    assert mine.spread["workload"] < base.spread["workload"]
    assert mine.moves <= base.moves
    assert gini([1, 1, 1]) == 0.0
    assert gini([0, 0, 3]) == pytest.approx(2 / 3)
