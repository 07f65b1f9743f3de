"""The baseline builder: type inference, streaming accumulators, chunked reading."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predwatch import schema
from predwatch.analyzers.profile import (
    FrameSource,
    build_baseline,
    build_baseline_from_file,
    infer_type,
    iter_frames,
    model_file_hash,
)
from predwatch.analyzers.profile_stats import (
    NumericAccumulator,
    holdout_mask,
    quantile_edges,
)
from predwatch.baseline import Baseline, BaselineError, Tokenizer

T = schema.FeatureType


def frame(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    """Mixed training data: numeric, discrete, categorical, boolean, text, prediction."""
    rng = np.random.default_rng(seed)
    words = np.array(["good", "bad", "fine", "very", "slow", "fast", "ok"])
    df = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "kids": rng.integers(0, 4, n),
            "city": rng.choice(["paris", "rome", "oslo"], n),
            "vip": rng.random(n) < 0.2,
            "comment": [
                " ".join(rng.choice(words, 4)) + f" w{rng.integers(0, 3000)}" for _ in range(n)
            ],
            "proba": rng.random(n),
            "label": rng.integers(0, 2, n),
        }
    )
    df.loc[::10, "age"] = np.nan
    df["city"] = df["city"].astype(object)
    df.loc[::7, "city"] = None
    df.loc[1::7, "city"] = ""
    return df


def build(data: object, **kw: object) -> Baseline:
    return build_baseline(data, model="m", version="1", **kw)  # type: ignore[arg-type]


def chunks(df: pd.DataFrame, size: int) -> list[pd.DataFrame]:
    return [df.iloc[i : i + size] for i in range(0, len(df), size)]


def same_profiles(a: Baseline, b: Baseline) -> None:
    """Equal up to floating-point summation order of means and variances."""
    assert [f.name for f in a.features] == [f.name for f in b.features]
    for fa, fb in zip(a.features, b.features, strict=True):
        assert (fa.type, fa.count, fa.missing) == (fb.type, fb.count, fb.missing), fa.name
        if fa.numeric and fb.numeric:
            assert fa.numeric.edges == fb.numeric.edges
            assert fa.numeric.counts == fb.numeric.counts
            assert fa.numeric.mean == pytest.approx(fb.numeric.mean, rel=1e-12)
            assert fa.numeric.var == pytest.approx(fb.numeric.var, rel=1e-9)
            assert (fa.numeric.min, fa.numeric.max) == (fb.numeric.min, fb.numeric.max)
        assert fa.categorical == fb.categorical
        if fa.text and fb.text:
            assert fa.text.vocabulary == fb.text.vocabulary
            assert fa.text.expected_oov_rate == fb.text.expected_oov_rate
            assert fa.text.length.counts == fb.text.length.counts


class TestInferType:
    @pytest.mark.parametrize(
        ("values", "expected"),
        [
            ([1.5, 2.0, None], T.NUMERIC),
            ([1, 2, 3], T.NUMERIC),
            ([True, False], T.CATEGORICAL),
            (["a", "b", "a"], T.CATEGORICAL),
            (["New York City", "New York City", "Los Angeles Area"] * 5, T.CATEGORICAL),
            (["the cat sat down", "a dog ran off", "birds sing all day"], T.TEXT),
            ([1, "a"], T.CATEGORICAL),
            ([None, None], T.CATEGORICAL),
        ],
    )
    def test_rules(self, values: list[object], expected: T) -> None:
        """Numbers are numeric, bools and short strings categorical, distinct sentences text."""
        assert infer_type(pd.Series(values)) is expected

    def test_object_numbers_and_datetimes(self) -> None:
        """An object column of numbers is numeric; datetimes are categorical."""
        assert infer_type(pd.Series([1, 2.5, None], dtype=object)) is T.NUMERIC
        assert infer_type(pd.Series(pd.to_datetime(["2024-01-01"]))) is T.CATEGORICAL
        assert infer_type(pd.Series(["a", "b"], dtype="category")) is T.CATEGORICAL


class TestNumeric:
    def test_statistics_match_numpy(self) -> None:
        """Mean, sample variance, min, max, n and missing agree with numpy on the raw data."""
        df = frame()
        b = build(df)
        f = b.feature("age")
        assert f is not None and f.numeric is not None
        raw = df["age"].dropna().to_numpy()
        p = f.numeric
        assert p.n == len(raw) and f.missing == 400
        assert p.mean == pytest.approx(raw.mean(), rel=1e-12)
        assert p.var == pytest.approx(raw.var(ddof=1), rel=1e-9)
        assert (p.min, p.max) == (raw.min(), raw.max())
        assert len(p.counts) == 100 and sum(p.counts) == p.n
        # Quantile bins: every bin holds roughly 1/100 of the values.
        assert max(p.counts) - min(p.counts) <= 2

    def test_counts_are_the_range_agg_buckets(self) -> None:
        """Counts follow [e_i, e_i+1) bins: a value equal to an edge goes to the bin above."""
        df = pd.DataFrame({"x": [0.0, 1.0, 1.0, 2.0, 3.0, 3.0, 3.0]})
        p = build(df, bins=100).features[0].numeric
        assert p is not None
        assert p.edges == (1.0, 2.0, 3.0)
        assert p.counts == (1.0, 2.0, 1.0, 3.0)

    def test_discrete_edges_are_deduplicated(self) -> None:
        """Discrete data gets one bin per value, never repeated edges or an empty first bin."""
        rng = np.random.default_rng(1)
        df = pd.DataFrame({"k": rng.integers(0, 5, 10_000), "z": np.zeros(100).tolist() * 100})
        b = build(df)
        k = b.feature("k")
        z = b.feature("z")
        assert k is not None and k.numeric is not None
        assert k.numeric.edges == (1.0, 2.0, 3.0, 4.0)
        assert k.numeric.counts == tuple(float(c) for c in np.bincount(df["k"]))
        assert z is not None and z.numeric is not None
        assert z.numeric.edges == () and z.numeric.counts == (10_000.0,)

    def test_heavy_ties_with_continuous_tail(self) -> None:
        """Half zeros plus a continuous tail: zeros fill the first bin, edges stay unique."""
        rng = np.random.default_rng(2)
        x = np.concatenate([np.zeros(5000), rng.exponential(1.0, 5000)])
        p = build(pd.DataFrame({"x": x}), bins=10).features[0].numeric
        assert p is not None
        assert p.edges[0] > 0 and p.counts[0] == 5000.0
        assert list(p.edges) == sorted(set(p.edges))
        assert sum(p.counts) == 10_000

    def test_infinities_count_as_missing(self) -> None:
        """+-inf are counted as missing, not folded into the statistics."""
        df = pd.DataFrame({"x": [1.0, np.inf, -np.inf, 2.0, None]})
        f = build(df).features[0]
        assert f.missing == 3 and f.numeric is not None and f.numeric.max == 2.0

    def test_non_numeric_strings_in_numeric_column(self) -> None:
        """Strings that are not numbers in a numeric column are an error with an example."""
        df = pd.DataFrame({"x": ["1", "2", "abc"]})
        with pytest.raises(
            BaselineError, match=r"column 'x' has non-numeric values \(e.g. 'abc'\)"
        ):
            build(df, numeric=["x"])

    def test_quantile_edges_function(self) -> None:
        """quantile_edges returns data values, increasing, never the minimum."""
        v = np.arange(1000, dtype=np.float64)
        edges = quantile_edges(v, np.ones(1000), 10)
        assert edges == tuple(float(x) for x in range(100, 1000, 100))


class TestReservoir:
    def test_second_pass_gives_exact_counts(self) -> None:
        """Beyond the exact-count and reservoir limits, a second pass counts the bins exactly."""
        rng = np.random.default_rng(3)
        x = rng.normal(size=30_000)
        acc = NumericAccumulator(reservoir=2_000, seed=0, exact_cap=100)
        for part in np.array_split(x, 7):
            acc.add(part)
        assert acc.needs_second_pass and acc.filled == 2_000
        acc.finish_pass1(20)
        for part in np.array_split(x, 3):
            acc.add_pass2(part)
        p = acc.profile()
        idx = np.searchsorted(np.array(p.edges), x, side="right")
        assert p.counts == tuple(float(c) for c in np.bincount(idx, minlength=len(p.edges) + 1))
        # Edges from a uniform sample: every bin holds about 1/20 of the data.
        assert all(abs(c / 30_000 - 0.05) < 0.015 for c in p.counts)

    def test_sample_is_uniform_over_chunks(self) -> None:
        """Late chunks are as likely to be in the reservoir as early ones."""
        acc = NumericAccumulator(reservoir=5_000, seed=1, exact_cap=10)
        x = np.arange(100_000, dtype=np.float64)
        for part in np.array_split(x, 50):
            acc.add(part)
        late = (acc.sample[: acc.filled] >= 50_000).mean()
        assert 0.45 < late < 0.55

    def test_one_shot_iterator_needing_two_passes(self) -> None:
        """A one-shot iterator cannot be read twice: say what to pass instead."""
        rng = np.random.default_rng(4)
        df = pd.DataFrame({"x": rng.normal(size=220_000)})

        def gen() -> Iterator[pd.DataFrame]:
            yield from chunks(df, 50_000)

        with pytest.raises(BaselineError, match="one-shot iterator; pass a DataFrame"):
            build(gen())

    def test_list_of_frames_two_passes(self) -> None:
        """A list of frames is read twice; bin counts are exact."""
        rng = np.random.default_rng(5)
        df = pd.DataFrame({"x": rng.normal(size=220_000)})
        p = build(chunks(df, 60_000)).features[0].numeric
        assert p is not None
        idx = np.searchsorted(np.array(p.edges), df["x"].to_numpy(), side="right")
        assert p.counts == tuple(float(c) for c in np.bincount(idx, minlength=100))


class TestCategorical:
    def test_frequencies_and_missing(self) -> None:
        """None, NaN and "" are missing; the rest is counted by canonical value."""
        df = frame()
        f = build(df).feature("city")
        assert f is not None and f.categorical is not None
        c = f.categorical
        expected = Counter(v for v in df["city"] if v)
        assert f.missing == len(df) - sum(expected.values())
        assert c.frequencies == dict(expected) and c.other == 0
        assert c.vocabulary == frozenset(expected) and not c.vocabulary_truncated

    def test_booleans_and_int_codes(self) -> None:
        """Booleans become true/false; int codes given as categorical lose any float .0."""
        df = pd.DataFrame({"vip": [True, False, True], "code": [1.0, 2.0, None]})
        b = build(df, categorical=["code"])
        vip, code = b.feature("vip"), b.feature("code")
        assert vip is not None and vip.categorical is not None
        assert vip.categorical.frequencies == {"true": 2, "false": 1}
        assert code is not None and code.categorical is not None
        assert code.categorical.vocabulary == {"1", "2"} and code.missing == 1

    def test_unhashable_and_string_dtype_values(self) -> None:
        """Unhashable values are counted by their string form; string dtype "" is missing."""
        df = pd.DataFrame({"l": [[1], [1], None], "s": pd.Series(["a", "", None], dtype="string")})
        b = build(df, categorical=["l"])
        lf, sf = b.feature("l"), b.feature("s")
        assert lf is not None and lf.categorical is not None
        assert lf.categorical.frequencies == {"[1]": 2} and lf.missing == 1
        assert sf is not None and sf.categorical is not None
        assert sf.categorical.frequencies == {"a": 1} and sf.missing == 2

    def test_huge_vocabulary_top_k_and_other(self) -> None:
        """A huge vocabulary keeps the top-K values, an `other` count and a capped vocabulary."""
        rng = np.random.default_rng(6)
        common = rng.choice(["a", "b", "c"], 30_000)
        ids = [f"id{i}" for i in range(30_000)]
        df = pd.DataFrame({"v": np.concatenate([common, ids])})
        c = build(df, top_k=3, vocab_cap=1_000).features[0].categorical
        assert c is not None
        assert set(c.frequencies) == {"a", "b", "c"}
        assert c.other == 30_000 and sum(c.frequencies.values()) + c.other == 60_000
        assert len(c.vocabulary) == 1_000 and c.vocabulary_truncated
        assert {"a", "b", "c"} <= c.vocabulary


class TestText:
    def test_oov_rate_on_held_out_split(self) -> None:
        """expected_oov_rate is the token OOV rate of the held-out rows against the
        vocabulary of the other rows (checked by brute force)."""
        df = frame()
        b = build(df, holdout=0.2, seed=7)
        f = b.feature("comment")
        assert f is not None and f.text is not None
        tok = Tokenizer()
        held = holdout_mask(0, len(df), 0.2, 7)
        docs = [tok.tokens(d) for d in df["comment"]]
        vocab = Counter(t for d, h in zip(docs, held, strict=True) if not h for t in d)
        test = [t for d, h in zip(docs, held, strict=True) if h for t in d]
        oov = sum(t not in vocab for t in test) / len(test)
        assert f.text.vocabulary == dict(vocab)
        assert f.text.expected_oov_rate == pytest.approx(oov)
        assert 0.05 < f.text.expected_oov_rate < 0.2
        assert f.text.length.edges == () and f.text.length.mean == 5.0

    def test_missing_and_no_holdout(self) -> None:
        """Empty and missing documents are missing; holdout=0 gives an OOV rate of 0."""
        df = pd.DataFrame({"t": ["Hello there big World", "", None, "hello again my friend"]})
        f = build(df, text=["t"], holdout=0.0).features[0]
        assert f.missing == 2 and f.text is not None
        assert f.text.expected_oov_rate == 0.0
        assert f.text.vocabulary["hello"] == 2

    def test_holdout_mask_is_chunk_independent(self) -> None:
        """The split depends on row position and seed only, not on the chunking."""
        whole = holdout_mask(0, 1000, 0.1, 3)
        parts = np.concatenate([holdout_mask(0, 300, 0.1, 3), holdout_mask(300, 700, 0.1, 3)])
        assert (whole == parts).all()
        assert 60 < whole.sum() < 140


class TestChunked:
    def test_chunked_equals_in_memory(self) -> None:
        """Chunks of a frame give the same profile as the frame (data fits the reservoir)."""
        df = frame(6000)
        kw = {"prediction_columns": ["proba", "label"], "holdout": 0.1}
        same_profiles(build(df, **kw), build(chunks(df, 777), **kw))
        one_shot = iter(chunks(df, 1000))
        same_profiles(build(df, **kw), build(one_shot, **kw))

    def test_csv_and_parquet_files(self, tmp_path: Path) -> None:
        """CSV and Parquet files read in chunks give the in-memory profile."""
        df = frame(3000).drop(columns=["city"])  # "" and None do not survive CSV distinctly
        df.to_csv(tmp_path / "d.csv", index=False)
        df.to_parquet(tmp_path / "d.parquet")
        mem = build(df)
        same_profiles(
            mem, build_baseline_from_file(tmp_path / "d.csv", chunksize=500, model="m", version="1")
        )
        same_profiles(
            mem,
            build_baseline_from_file(tmp_path / "d.parquet", chunksize=500, model="m", version="1"),
        )

    def test_csv_string_columns_keep_leading_zeros(self, tmp_path: Path) -> None:
        """Columns given as categorical are read from CSV as text (zip codes keep zeros)."""
        (tmp_path / "z.csv").write_text("zip,x\n01234,1\n00007,2\n")
        b = build_baseline_from_file(
            tmp_path / "z.csv", model="m", version="1", categorical=["zip"]
        )
        f = b.feature("zip")
        assert f is not None and f.categorical is not None
        assert f.categorical.vocabulary == {"01234", "00007"}

    def test_frame_source_reiterates(self, tmp_path: Path) -> None:
        """A FrameSource re-opens its file on every iteration; exclude skips columns."""
        pd.DataFrame({"a": range(10), "b": range(10)}).to_csv(tmp_path / "f.csv", index=False)
        src = FrameSource(tmp_path / "f.csv", chunksize=4, exclude=["b"])
        assert [len(f) for f in src] == [4, 4, 2]
        assert {tuple(f.columns) for f in src} == {("a",)}
        assert sum(len(f) for f in iter_frames(tmp_path / "f.csv", 3)) == 10

    def test_file_read_once_when_one_pass_suffices(self, tmp_path: Path) -> None:
        """Data whose bins are exact after one pass is read once."""
        pd.DataFrame({"a": range(10)}).to_csv(tmp_path / "f.csv", index=False)
        src = FrameSource(tmp_path / "f.csv", chunksize=4)
        build(src)
        assert src.passes == 1

    def test_progress_bar(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """With progress on, reading works the same and the bar goes to stderr only."""
        pd.DataFrame({"a": range(10)}).to_csv(tmp_path / "f.csv", index=False)
        pd.DataFrame({"a": range(10)}).to_parquet(tmp_path / "f.parquet")
        for name in ("f.csv", "f.parquet"):
            assert sum(len(f) for f in iter_frames(tmp_path / name, 3, progress=True)) == 10
        assert capsys.readouterr().out == ""

    def test_unreadable_files(self, tmp_path: Path) -> None:
        """Missing, unknown-format and broken files give one clear error."""
        with pytest.raises(BaselineError, match="does not exist"):
            list(iter_frames(tmp_path / "nope.csv"))
        (tmp_path / "x.json").write_text("{}")
        with pytest.raises(BaselineError, match="unknown data format"):
            list(iter_frames(tmp_path / "x.json"))
        (tmp_path / "bad.parquet").write_text("not parquet")
        with pytest.raises(BaselineError, match="could not be read as Parquet"):
            list(iter_frames(tmp_path / "bad.parquet"))
        (tmp_path / "empty.csv").write_text("")
        with pytest.raises(BaselineError, match="is empty"):
            list(iter_frames(tmp_path / "empty.csv"))


class TestPrediction:
    def test_score_and_int_label(self) -> None:
        """A probability and an integer label column make a classification profile."""
        b = build(frame(), prediction_columns=["proba", "label"])
        assert b.prediction is not None and b.prediction.kind == "classification"
        assert b.classes == ("0", "1")
        assert b.prediction.value is not None and b.prediction.value.max <= 1.0
        assert b.feature("proba") is None and b.feature("label") is None

    def test_regression_and_label_only(self) -> None:
        """One numeric column is a regression; one categorical column a classification."""
        df = frame()
        reg = build(df, prediction_columns=["age"])
        assert reg.prediction is not None and reg.prediction.kind == "regression"
        assert reg.prediction.label is None and reg.classes == ()
        cls = build(df, prediction_columns=["city"])
        assert cls.prediction is not None and cls.prediction.kind == "classification"
        assert cls.classes == ("oslo", "paris", "rome") and cls.prediction.value is None

    def test_bad_prediction_columns(self) -> None:
        """Three columns, or two floats, cannot be told apart: say how to fix it."""
        df = frame()
        with pytest.raises(BaselineError, match="at most two prediction columns"):
            build(df, prediction_columns=["proba", "label", "age"])
        with pytest.raises(BaselineError, match="give the label with --categorical"):
            build(df, prediction_columns=["proba", "age"])
        b = build(df, prediction_columns=["proba", "kids"], categorical=["kids"])
        assert b.classes == ("0", "1", "2", "3")


class TestErrors:
    def test_unknown_and_conflicting_columns(self) -> None:
        """Unknown columns and contradictory options are refused with the option name."""
        df = frame(100)
        with pytest.raises(BaselineError, match="'nope' given to --categorical is not in the data"):
            build(df, categorical=["nope"])
        with pytest.raises(BaselineError, match="'nope' given to --exclude"):
            build(df, exclude=["nope"])
        with pytest.raises(BaselineError, match="both categorical and numeric"):
            build(df, categorical=["age"], numeric=["age"])
        with pytest.raises(BaselineError, match="both excluded and used"):
            build(df, exclude=["age"], numeric=["age"])

    def test_empty_data_and_bad_names(self) -> None:
        """No rows, a bad model name or a bad column name: a BaselineError each."""
        with pytest.raises(BaselineError, match="no rows"):
            build(frame().iloc[:0])
        with pytest.raises(BaselineError, match="no rows"):
            build([])
        with pytest.raises(BaselineError, match="may only contain"):
            build_baseline(frame(10), model="Bad-Name", version="1")
        with pytest.raises(BaselineError, match=r"contains '\*'.*--exclude it"):
            build(pd.DataFrame({"a*": [1]}))


class TestWide:
    def test_thousand_features(self) -> None:
        """1000 features build, validate and round-trip."""
        rng = np.random.default_rng(8)
        data = {f"f{i}": rng.normal(size=500) for i in range(900)}
        data.update({f"c{i}": rng.choice(["x", "y"], 500) for i in range(100)})
        b = build(pd.DataFrame(data))
        assert len(b.features) == 1000
        assert Baseline.from_dict(b.to_dict()) == b


class TestMetadata:
    def test_trained_at_and_hash(self, tmp_path: Path) -> None:
        """trained_at (datetime or ISO) and the model hash are recorded."""
        import datetime as dt

        (tmp_path / "model.bin").write_bytes(b"weights")
        h = model_file_hash(tmp_path / "model.bin")
        b = build(frame(50), trained_at=dt.datetime(2026, 1, 2, 3, 4, 5), model_hash=h)
        assert b.trained_at == "2026-01-02T03:04:05+00:00"
        assert b.hash is not None and b.hash.startswith("sha256:") and len(b.hash) == 71
