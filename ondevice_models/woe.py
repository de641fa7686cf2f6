"""Weight-of-evidence binning, the first half of a scorecard.

Numeric features start from decile cut points; adjacent bins merge until every bin holds at
least `min_share` of the rows and, where the feature's direction is known, the bad rate moves
one way only. Categories smaller than `min_share` join the category with the nearest bad rate.
WOE = ln(share of goods / share of bads), with 0.5 added to each count, so higher is better.
WOE values are rounded to float32, the precision the ONNX graph carries them in, so the native
model and the exported one compute on identical numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ondevice_models.data import Dataset, Feature

MIN_SHARE = 0.05


@dataclass(frozen=True)
class Binning:
    feature: str
    kind: str  # numeric | categorical
    cuts: tuple[float, ...]  # numeric: bin i holds x < cuts[i] (the last bin, everything above)
    groups: tuple[tuple[str, ...], ...]  # categorical: the categories in each bin
    woe: tuple[float, ...]  # per bin, float32-exact
    counts: tuple[int, ...]
    bad_rates: tuple[float, ...]
    iv: float  # information value

    def bin_of(self, values: np.ndarray) -> np.ndarray:
        if self.kind == "numeric":
            return np.searchsorted(np.asarray(self.cuts), values.astype(float), side="right")
        lookup = {category: i for i, group in enumerate(self.groups) for category in group}
        unknown = [v for v in set(values.tolist()) if v not in lookup]
        if unknown:
            raise ValueError(f"{self.feature}: unknown categories {unknown[:3]}")
        return np.array([lookup[v] for v in values.tolist()], dtype=np.int64)

    def transform(self, values: np.ndarray) -> np.ndarray:
        return np.asarray(self.woe, dtype=np.float64)[self.bin_of(values)]

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(sorted(c for group in self.groups for c in group))

    def labels(self) -> list[str]:
        if self.kind == "categorical":
            return [" | ".join(group) for group in self.groups]
        edges = [-math.inf, *self.cuts, math.inf]
        return [f"[{edges[i]:g}, {edges[i + 1]:g})" for i in range(len(self.cuts) + 1)]


def _woe(goods: np.ndarray, bads: np.ndarray) -> tuple[np.ndarray, float]:
    good_share = (goods + 0.5) / (goods.sum() + 0.5 * len(goods))
    bad_share = (bads + 0.5) / (bads.sum() + 0.5 * len(bads))
    woe = np.log(good_share / bad_share).astype(np.float32).astype(np.float64)
    return woe, float(((good_share - bad_share) * woe).sum())


def _numeric(feature: Feature, values: np.ndarray, bad: np.ndarray, min_share: float) -> Binning:
    quantiles = np.quantile(values, np.linspace(0.1, 0.9, 9))
    distinct = np.unique(values)
    # cut half-way between observed values, so no training value sits on a cut
    cuts = sorted({float(distinct[distinct <= q].max() + distinct[distinct > q].min()) / 2
                   for q in quantiles if (distinct > q).any() and (distinct <= q).any()})  # fmt: skip
    while True:
        index = np.searchsorted(np.asarray(cuts), values, side="right")
        counts = np.bincount(index, minlength=len(cuts) + 1)
        bads = np.bincount(index, weights=bad, minlength=len(cuts) + 1)
        rates = bads / np.maximum(counts, 1)
        if not cuts:
            break
        small = counts < min_share * len(values)
        steps = np.diff(rates)
        wrong_way = (steps * feature.direction < 0) if feature.direction else np.zeros(len(cuts), bool)
        if not small.any() and not wrong_way.any():
            break
        # merge the adjacent pair that is too small or out of order and closest in bad rate
        candidates = [i for i in range(len(cuts)) if small[i] or small[i + 1] or wrong_way[i]]
        merge = min(candidates, key=lambda i: abs(steps[i]))
        del cuts[merge]
    woe, iv = _woe(counts - bads, bads)
    return Binning(feature.name, "numeric", tuple(cuts), (), tuple(woe), tuple(int(c) for c in counts),
                   tuple(float(r) for r in rates), iv)  # fmt: skip


def _categorical(feature: Feature, values: np.ndarray, bad: np.ndarray, min_share: float) -> Binning:
    groups = [[c] for c in sorted(set(values.tolist()))]

    def stats(group: list[str]) -> tuple[int, float]:
        mask = np.isin(values, group)
        return int(mask.sum()), float(bad[mask].sum())

    def rate(group: list[str]) -> float:
        count, bads = stats(group)
        return bads / max(count, 1)

    while len(groups) > 1:
        smallest = min(range(len(groups)), key=lambda i: stats(groups[i])[0])
        if stats(groups[smallest])[0] >= min_share * len(values):
            break
        small = groups.pop(smallest)
        nearest = min(range(len(groups)), key=lambda i: abs(rate(groups[i]) - rate(small)))
        groups[nearest] = sorted(groups[nearest] + small)
    sizes = [stats(g) for g in groups]
    counts = np.array([s[0] for s in sizes], dtype=float)
    bads = np.array([s[1] for s in sizes])
    woe, iv = _woe(counts - bads, bads)
    return Binning(feature.name, "categorical", (), tuple(tuple(g) for g in groups), tuple(woe),
                   tuple(int(c) for c in counts), tuple(float(r) for r in bads / counts), iv)  # fmt: skip


def fit_binnings(data: Dataset, features: tuple[Feature, ...], *, min_share: float = MIN_SHARE) -> list[Binning]:
    return [
        (_numeric if f.kind == "numeric" else _categorical)(f, data.columns[f.name], data.bad, min_share)
        for f in features
    ]


def woe_matrix(binnings: list[Binning], data: Dataset) -> np.ndarray:
    return np.column_stack([b.transform(data.columns[b.feature]) for b in binnings])
