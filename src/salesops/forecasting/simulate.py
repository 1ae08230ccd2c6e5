"""Monte Carlo over deals: the distribution of bookings per period, and its quantiles."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Above this many deal x simulation draws the sum of independent deals is simulated from its
# normal approximation (same mean and variance); below, every deal is drawn.
EXACT_LIMIT = 4_000_000


def nonnegative(samples: np.ndarray, mean: np.ndarray | float) -> np.ndarray:
    """`samples` (simulation x period) cut at zero and rescaled so each period's mean is
    `mean` again.

    Bookings cannot be negative, but cutting a spread that crosses zero raises its mean (the
    negative draws become zeros): on a small expected value widened 4x the mean moved up by
    a third. Rescaling after the cut keeps the draws non-negative and the mean where the
    forecast put it; only the interval moves.
    """
    cut = np.maximum(samples, 0.0)
    target = np.broadcast_to(np.asarray(mean, dtype="float64"), cut.shape[1:])
    got = cut.mean(axis=0)
    factor = np.divide(
        np.maximum(target, 0.0), got, out=np.ones_like(got), where=got > 1e-12 * (1.0 + target)
    )
    return np.asarray(cut * factor, dtype="float64")


@dataclass(frozen=True)
class Distribution:
    """Simulated bookings: `pipeline` and `run_rate` parts, `total` per (simulation, period)."""

    pipeline: np.ndarray  # (sims, periods)
    run_rate: np.ndarray
    total: np.ndarray

    def quantile(self, q: float) -> np.ndarray:
        return np.asarray(np.quantile(self.total, q, axis=0), dtype="float64")

    @property
    def expected(self) -> np.ndarray:
        return np.asarray(self.total.mean(axis=0))


def simulate_deals(
    probabilities: np.ndarray, values: np.ndarray, *, sims: int, rng: np.random.Generator
) -> np.ndarray:
    """Bookings per (simulation, period) when deal i is won in period k with P[i, k].

    Each deal is won at most once: its periods are exclusive outcomes, with "not won in the
    horizon" taking the rest of the probability.
    """
    n, horizon = probabilities.shape
    if n == 0:
        return np.zeros((sims, horizon))
    if n * sims <= EXACT_LIMIT:
        cumulative = np.cumsum(probabilities, axis=1)
        out = np.zeros((sims, horizon))
        chunk = max(1, EXACT_LIMIT // max(n, 1) // 4)
        for lo in range(0, sims, chunk):
            draws = rng.random((min(chunk, sims - lo), n))
            outcome = (draws[:, :, None] >= cumulative[None, :, :]).sum(axis=2)
            for k in range(horizon):
                out[lo : lo + len(draws), k] = ((outcome == k) * values[None, :]).sum(axis=1)
        return out
    mean = (probabilities * values[:, None]).sum(axis=0)
    var = (probabilities * (1 - probabilities) * (values**2)[:, None]).sum(axis=0)
    return nonnegative(rng.normal(mean, np.sqrt(var), size=(sims, horizon)), mean)


def combine(
    pipeline: np.ndarray,
    run_rate_mean: np.ndarray,
    run_rate_sd: np.ndarray,
    *,
    shock_sd: float,
    rng: np.random.Generator,
) -> Distribution:
    """Add the run-rate part and a shared shock (deals are not independent: a bad quarter
    hits many of them) to simulated pipeline bookings."""
    sims, horizon = pipeline.shape
    shock = np.exp(rng.normal(-0.5 * shock_sd**2, shock_sd, size=(sims, 1)))
    rr = nonnegative(rng.normal(run_rate_mean, run_rate_sd, size=(sims, horizon)), run_rate_mean)
    piped = pipeline * shock
    return Distribution(pipeline=piped, run_rate=rr, total=piped + rr)


def average(distributions: list[Distribution], weights: list[float] | None = None) -> Distribution:
    """Combine forecasts by averaging their quantiles (sorted simulations, element-wise).

    The mean of averaged quantiles is the weighted mean of the members' means, so the
    combined forecast is exactly the blend of its members' forecasts."""
    w = np.asarray(weights if weights is not None else [1.0] * len(distributions), dtype=float)
    w = w / w.sum()

    def mean_sorted(parts: list[np.ndarray]) -> np.ndarray:
        stacked = np.stack([np.sort(p, axis=0) for p in parts])
        return np.asarray(np.tensordot(w, stacked, axes=1))

    return Distribution(
        pipeline=mean_sorted([d.pipeline for d in distributions]),
        run_rate=mean_sorted([d.run_rate for d in distributions]),
        total=mean_sorted([d.total for d in distributions]),
    )


def widen(dist: Distribution, scale: float) -> Distribution:
    """`dist` with its simulated totals spread `scale` times as far from their mean, never
    below zero and with the same mean (`nonnegative`): the interval calibrated, the mean
    forecast kept."""
    mean = dist.total.mean(axis=0)
    total = nonnegative(mean + scale * (dist.total - mean), mean)
    return Distribution(pipeline=dist.pipeline, run_rate=dist.run_rate, total=total)


def conformal_scale(
    scores: list[float], *, coverage: float, min_scores: int, max_scale: float
) -> float:
    """The split-conformal scale: the ceil(coverage (n+1))-th smallest score (the largest
    when n is small), never below 1 with fewer than `min_scores` scores, within
    [1 / max_scale, max_scale]; 1 without any score."""
    if not scores:
        return 1.0
    n = len(scores)
    rank = min(n, int(np.ceil(coverage * (n + 1))))
    scale = float(np.sort(np.asarray(scores, dtype="float64"))[rank - 1])
    if n < min_scores:
        scale = max(scale, 1.0)
    return float(np.clip(scale, 1.0 / max_scale, max_scale))
