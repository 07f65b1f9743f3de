"""Streaming accumulators behind `build_baseline`: one per column, fed chunk by chunk.

Memory is bounded per column, independent of the number of rows:
- numeric: exact n/mean/variance/min/max (chunk statistics merged with Chan's formula);
  the exact value counts while a column has at most EXACT_DISTINCT values (discrete data:
  exact edges and bin counts in one pass), otherwise a uniform reservoir sample of
  `reservoir_size` values for the quantile edges, and a second pass for the bin counts
  (unless the reservoir holds every value);
- categorical / text vocabularies: a counter pruned to the `vocab_cap` most frequent
  entries whenever it grows past 2 x vocab_cap (counts of rare values become lower bounds
  and the vocabulary is flagged truncated).
Pure computation: no I/O.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from itertools import chain

import numpy as np
import numpy.typing as npt
import pandas as pd

from predwatch.baseline import (
    BaselineError,
    CategoricalProfile,
    NumericProfile,
    TextProfile,
    Tokenizer,
    category_key,
)

Floats = npt.NDArray[np.float64]

EXACT_DISTINCT = 10_000  # distinct values counted exactly before switching to the reservoir
RESERVOIR_MAX = 200_000  # values sampled per numeric column for its quantile edges...
RESERVOIR_MIN = 10_000  # ...at least this many, and...
RESERVOIR_BUDGET = 20_000_000  # ...at most this many over all numeric columns (160 MB)
HOLDOUT_TOKENS_CAP = 500_000  # distinct held-out tokens kept per text column


def reservoir_size(numeric_columns: int) -> int:
    """Reservoir per numeric column: 200k values, less for very wide data (>= 10k)."""
    share = RESERVOIR_BUDGET // max(1, numeric_columns)
    return max(RESERVOIR_MIN, min(RESERVOIR_MAX, share))


def quantile_edges(values: Floats, weights: Floats, bins: int) -> tuple[float, ...]:
    """Inner edges of at most `bins` bins of roughly equal weight over sorted distinct `values`.

    Discrete data with at most `bins` distinct values gets one bin per value. Otherwise the
    edges are data values (the first value whose cumulative weight exceeds i/bins),
    deduplicated, and never the minimum (the first bin would be empty).
    """
    if len(values) <= 1:
        return ()
    if len(values) <= bins:
        return tuple(float(v) for v in values[1:])
    cum = np.cumsum(weights)
    targets = cum[-1] * np.arange(1, bins) / bins
    idx = np.searchsorted(cum, targets, side="right")
    edges = np.unique(values[np.minimum(idx, len(values) - 1)])
    return tuple(float(e) for e in edges[edges > values[0]])


def bin_counts(values: Floats, edges: tuple[float, ...], weights: Floats | None = None) -> Floats:
    """Counts of `values` in the K = len(edges) + 1 bins (-inf,e1), [e1,e2), ..., [eK-1,inf)."""
    idx = np.searchsorted(np.asarray(edges, dtype=np.float64), values, side="right")
    return np.bincount(idx, weights=weights, minlength=len(edges) + 1).astype(np.float64)


class NumericAccumulator:
    """Exact moments + exact value counts or a reservoir sample of one numeric column."""

    def __init__(self, reservoir: int, seed: int, exact_cap: int | None = EXACT_DISTINCT) -> None:
        self.k = reservoir
        self.exact_cap = exact_cap
        self.rng = np.random.default_rng(seed)
        self.n = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.min = math.inf
        self.max = -math.inf
        self.exact: tuple[Floats, Floats] | None = (np.empty(0), np.empty(0))
        self.sample: Floats = np.empty(0)
        self.filled = 0
        self.edges: tuple[float, ...] = ()
        self.pass2: Floats | None = None
        self.pass2_sums: Floats | None = None

    def add(self, x: Floats) -> None:
        """Add finite values (the caller removed missing and non-finite ones)."""
        m = len(x)
        if m == 0:
            return
        mean_b = float(x.mean())
        m2_b = float(((x - mean_b) ** 2).sum())
        n = self.n + m
        delta = mean_b - self.mean
        self.mean += delta * m / n
        self.m2 += m2_b + delta * delta * self.n * m / n
        self.n = n
        self.min = min(self.min, float(x.min()))
        self.max = max(self.max, float(x.max()))
        if self.exact is not None:
            self._add_exact(x)
        self._add_sample(x)

    def _add_exact(self, x: Floats) -> None:
        assert self.exact is not None
        u, c = np.unique(x, return_counts=True)
        old_u, old_c = self.exact
        if len(old_u):
            u, inv = np.unique(np.concatenate([old_u, u]), return_inverse=True)
            c = np.bincount(inv, weights=np.concatenate([old_c, c]))
        self.exact = (u, c.astype(np.float64))
        if self.exact_cap is not None and len(u) > self.exact_cap:
            self.exact = None

    def _add_sample(self, x: Floats) -> None:
        seen = self.n - len(x)  # values offered before this chunk
        take = max(0, min(len(x), self.k - self.filled))
        if take:
            need = self.filled + take
            if need > len(self.sample):
                grown = np.empty(min(self.k, max(need, 2 * len(self.sample))))
                grown[: self.filled] = self.sample[: self.filled]
                self.sample = grown
            self.sample[self.filled : need] = x[:take]
            self.filled = need
        rest = x[take:]
        if len(rest):
            # Algorithm R, vectorised: item j (0-based over all values) replaces slot
            # r ~ U{0..j} when r < k; later items win a slot, as in the sequential version.
            j = np.arange(seen + take, seen + take + len(rest), dtype=np.float64)
            r = np.floor(self.rng.random(len(rest)) * (j + 1)).astype(np.int64)
            keep = r < self.k
            self.sample[r[keep]] = rest[keep]

    @property
    def needs_second_pass(self) -> bool:
        return self.exact is None and self.n > self.filled

    def distinct(self) -> tuple[Floats, Floats]:
        """Sorted distinct values and their weights (exact, or of the reservoir sample)."""
        if self.exact is not None:
            return self.exact
        u, c = np.unique(self.sample[: self.filled], return_counts=True)
        return u, c.astype(np.float64)

    def finish_pass1(self, bins: int) -> None:
        self.edges = quantile_edges(*self.distinct(), bins)
        if self.needs_second_pass:
            self.pass2 = np.zeros(len(self.edges) + 1)
            self.pass2_sums = np.zeros(len(self.edges) + 1)

    def add_pass2(self, x: Floats) -> None:
        assert self.pass2 is not None and self.pass2_sums is not None
        self.pass2 += bin_counts(x, self.edges)
        self.pass2_sums += bin_counts(x, self.edges, x)

    def profile(self) -> NumericProfile:
        if self.pass2 is not None and self.pass2_sums is not None:
            counts, sums = self.pass2, self.pass2_sums
        else:
            u, w = self.distinct()
            # Exact values, or a reservoir that holds every value (no second pass needed).
            counts, sums = bin_counts(u, self.edges, w), bin_counts(u, self.edges, u * w)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(counts > 0, sums / np.where(counts > 0, counts, 1.0), np.nan)
        nan = math.nan
        return NumericProfile(
            edges=self.edges,
            counts=tuple(float(c) for c in counts),
            mean=self.mean if self.n else nan,
            var=self.m2 / (self.n - 1) if self.n > 1 else nan,
            min=self.min if self.n else nan,
            max=self.max if self.n else nan,
            n=self.n,
            bin_means=tuple(float(m) for m in means),
        )


class BoundedCounter:
    """A Counter pruned to its `cap` most frequent keys whenever it exceeds 2 x cap."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.counts: Counter[str] = Counter()
        self.pruned = False
        self.pruned_mass = 0

    def update(self, counts: Iterable[tuple[str, int]]) -> None:
        c = self.counts
        for key, n in counts:
            c[key] += n
        if len(c) > 2 * self.cap:
            kept = dict(c.most_common(self.cap))
            self.pruned_mass += sum(c.values()) - sum(kept.values())
            self.counts = Counter(kept)
            self.pruned = True

    def top(self, k: int) -> list[tuple[str, int]]:
        return sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:k]


def category_counts(s: pd.Series) -> tuple[dict[str, int], int]:
    """Counts per canonical value (`category_key`) of one chunk, and the missing count."""
    if pd.api.types.is_string_dtype(s) and not pd.api.types.is_object_dtype(s):
        # Fast path for pandas string columns: every key is already canonical.
        vc = s.value_counts(dropna=True)
        out = dict(zip(vc.index.tolist(), vc.to_numpy().tolist(), strict=True))
        empty = out.pop("", 0)
        return out, int(s.isna().sum()) + empty
    try:
        vc = s.value_counts(dropna=False)
    except TypeError:  # unhashable values (lists, dicts): count their string form
        vc = s.map(lambda v: v if v is None or isinstance(v, float) else str(v)).value_counts(
            dropna=False
        )
    out = {}
    missing = 0
    for value, n in vc.items():
        key = category_key(value)
        if key is None:
            missing += int(n)
        else:
            out[key] = out.get(key, 0) + int(n)
    return out, missing


class CategoricalAccumulator:
    def __init__(self, vocab_cap: int) -> None:
        self.counter = BoundedCounter(vocab_cap)
        self.n = 0
        self.missing = 0

    def add(self, s: pd.Series) -> None:
        counts, missing = category_counts(s)
        self.missing += missing
        self.n += sum(counts.values())
        self.counter.update(counts.items())

    def profile(self, top_k: int) -> CategoricalProfile:
        ranked = self.counter.top(self.counter.cap)
        freq = dict(ranked[:top_k])
        truncated = self.counter.pruned or len(self.counter.counts) > self.counter.cap
        return CategoricalProfile(
            frequencies=freq,
            other=self.n - sum(freq.values()),
            vocabulary=frozenset(k for k, _ in ranked),
            n=self.n,
            vocabulary_truncated=truncated,
            # Exact while nothing was pruned; a truncated vocabulary hides the unseen share.
            singletons=None if truncated else sum(c == 1 for c in self.counter.counts.values()),
        )


def _splitmix64(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def holdout_mask(first_row: int, rows: int, fraction: float, seed: int) -> npt.NDArray[np.bool_]:
    """Which rows belong to the held-out split: a hash of the row's position and the seed,
    so the split does not depend on how the data is chunked."""
    if fraction <= 0:
        return np.zeros(rows, dtype=bool)
    pos = np.arange(first_row, first_row + rows, dtype=np.uint64)
    h = _splitmix64(pos ^ _splitmix64(np.array([seed], dtype=np.uint64)))
    return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53) < fraction


class TextAccumulator:
    """Vocabulary of the training split, token counts of the held-out split, lengths."""

    def __init__(self, tokenizer: Tokenizer, vocab_cap: int, seed: int) -> None:
        self.tokenizer = tokenizer
        self.train = BoundedCounter(vocab_cap)
        self.heldout = BoundedCounter(HOLDOUT_TOKENS_CAP)
        self.length = NumericAccumulator(RESERVOIR_MIN, seed, exact_cap=None)
        self.n = 0
        self.missing = 0

    def add(self, s: pd.Series, heldout: npt.NDArray[np.bool_]) -> None:
        missing = s.isna().to_numpy() | (s.astype(object) == "").to_numpy()
        self.missing += int(missing.sum())
        docs = [str(v) for v in s[~missing].tolist()]
        held = heldout[~missing]
        self.n += len(docs)
        toks = [self.tokenizer.tokens(d) for d in docs]
        self.length.add(np.fromiter((len(t) for t in toks), dtype=np.float64, count=len(toks)))
        train = [t for t, h in zip(toks, held, strict=True) if not h]
        test = [t for t, h in zip(toks, held, strict=True) if h]
        self.train.update(Counter(chain.from_iterable(train)).items())
        self.heldout.update(Counter(chain.from_iterable(test)).items())

    def profile(self, bins: int) -> TextProfile:
        vocab = dict(self.train.top(self.train.cap))
        held = self.heldout
        total = sum(held.counts.values()) + held.pruned_mass
        # Tokens pruned from the held-out counter were rare; they count as OOV.
        oov = held.pruned_mass + sum(n for t, n in held.counts.items() if t not in vocab)
        self.length.finish_pass1(bins)
        return TextProfile(
            tokenizer=self.tokenizer,
            vocabulary=vocab,
            expected_oov_rate=oov / total if total else 0.0,
            length=self.length.profile(),
            n=self.n,
        )


def numeric_values(s: pd.Series, name: str) -> tuple[Floats, int]:
    """Finite float values of a column and how many were missing (NaN, None, +-inf).

    Strings that do not parse as numbers are an error, not silently missing.
    """
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
        arr = s.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        conv = pd.to_numeric(s, errors="coerce")
        bad = conv.isna() & s.notna() & (s.astype(object) != "")
        if bad.any():
            example = s[bad].iloc[0]
            raise BaselineError(
                f"column {name!r} has non-numeric values (e.g. {example!r}); "
                "give it with --categorical or fix the data"
            )
        arr = conv.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = np.isfinite(arr)
    return arr[finite], int(len(arr) - finite.sum())
