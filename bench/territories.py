"""Territory optimizer benchmark: synthetic accounts x reps, the MILP against the greedy
baseline (accounts by descending potential, each to the rep with the most remaining
capacity) and against the current assignment, measured in the same run.

    .venv/bin/python bench/territories.py [ACCOUNTS] [REPS] [--candidates=K] [--time=S]
        [--lo=0.99] [--hi=1.01] [--gap=1e-4]

Prints solve time, objective, bound, gap, workload spread (max/min per rep), Gini, moves,
value moved and peak memory (max RSS of the process).
"""

from __future__ import annotations

import random
import resource
import sys
import time

from salesops.territories.evaluate import greedy, summarize
from salesops.territories.optimizer import AccountIn, Balance, RepIn, Settings, Weights, solve

INDUSTRIES = ["Retail", "Health", "Finance", "Manufacturing", "Software", "Energy"]


def instance(n: int, m: int, seed: int = 1) -> tuple[list[AccountIn], list[RepIn]]:
    rnd = random.Random(seed)
    reps = [
        RepIn(
            f"r{j}",
            experience=round(rnd.uniform(0.1, 1.0), 3),
            knowledge={i: round(rnd.uniform(0.2, 0.9), 3) for i in INDUSTRIES},
            complex_skill=round(rnd.uniform(0.1, 1.0), 3),
            quota=rnd.choice([400, 600, 800]) * 1e3,
            capacity=None,
        )
        for j in range(m)
    ]
    # The current owner is skewed (some reps carry far more), as after years of greedy fills.
    weights = [rnd.uniform(0.3, 2.0) for _ in range(m)]
    accounts = [
        AccountIn(
            f"a{i}",
            workload=round(rnd.choice([1, 1, 1.5, 2, 3, 4.5]) * rnd.uniform(0.8, 1.2), 3),
            potential=round(rnd.lognormvariate(10, 1), 2),
            complexity=rnd.choice([0.0, 0.25, 0.5, 0.75, 1.0]),
            industry=rnd.choice(INDUSTRIES),
            current_rep=rnd.choices([r.id for r in reps], weights)[0],
        )
        for i in range(n)
    ]
    return accounts, reps


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    opts = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--"))
    n, m = (int(args[0]) if args else 2000), (int(args[1]) if len(args) > 1 else 50)
    accounts, reps = instance(n, m)
    settings = Settings(
        weights=Weights(disruption=0.5),
        balance=(Balance("workload", float(opts.get("lo", 0.99)), float(opts.get("hi", 1.01))),),
        candidates=int(opts["candidates"]) if "candidates" in opts else None,
        time_limit=float(opts.get("time", 60)),
        gap=float(opts.get("gap", 1e-4)),
    )
    started = time.perf_counter()
    plan = solve(accounts, reps, settings)
    wall = time.perf_counter() - started
    t0 = time.perf_counter()
    base = greedy(accounts, reps)
    greedy_s = time.perf_counter() - t0
    rows = {
        "current": summarize(accounts, reps, {a.id: a.current_rep for a in accounts}, settings),
        "optimized": summarize(accounts, reps, plan.assignment, settings),
        "greedy": summarize(accounts, reps, base, settings),
    }
    print(
        f"{n} accounts x {m} reps, {plan.variables} variables"
        f"{' (candidates restricted)' if plan.restricted else ''}"
    )
    print(f"solve {wall:.2f} s ({plan.status}); greedy {greedy_s:.3f} s")
    print(f"objective {plan.objective:.3f}, bound {plan.bound:.3f}, gap {plan.gap:.4%}")
    print(
        f"{'plan':<10} {'objective':>10} {'wl max/min':>10} {'wl gini':>8} {'moves':>6}"
        f" {'value moved':>14}"
    )
    for label, s in rows.items():
        print(
            f"{label:<10} {s.objective:>10.1f} {s.spread['workload']:>10.3f} "
            f"{s.gini['workload']:>8.4f} {s.moves:>6} {s.value_moved:>14,.0f}"
        )
    opt, gr = rows["optimized"], rows["greedy"]
    g_excess, o_excess = gr.spread["workload"] - 1, opt.spread["workload"] - 1
    print(
        f"spread beyond 1: greedy {g_excess:.4f} vs optimized {o_excess:.4f}"
        f" ({g_excess / max(o_excess, 1e-9):.1f}x tighter)"
    )
    print(
        f"peak memory (max RSS) {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )


if __name__ == "__main__":
    main()
