"""Intervals from established libraries: Wilson for accuracies, a percentile bootstrap over items."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

Z95 = 0.05


def wilson(n_correct: int, n: int) -> tuple[float | None, float | None]:
    """95% Wilson score interval of ``n_correct / n`` (statsmodels); (None, None) when n = 0."""
    if n <= 0:
        return None, None
    from statsmodels.stats.proportion import proportion_confint

    lo, hi = proportion_confint(n_correct, n, alpha=Z95, method="wilson")
    return float(lo), float(hi)


def bootstrap(
    items: Sequence[Any], statistic: Callable[[Sequence[Any]], float | None], n_resamples: int = 500, seed: int = 0
) -> tuple[float | None, float | None]:
    """95% percentile interval of ``statistic`` over items resampled with replacement.

    Resamples on which the statistic is undefined (None or NaN: one category only, say) are
    left out; fewer than half defined gives (None, None).
    """
    if len(items) < 2:
        return None, None
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_resamples):
        idx = rng.integers(0, len(items), len(items))
        v = statistic([items[i] for i in idx])
        if v is not None and not np.isnan(v):
            values.append(v)
    if len(values) < n_resamples / 2:
        return None, None
    lo, hi = np.percentile(values, [2.5, 97.5])
    return float(lo), float(hi)
