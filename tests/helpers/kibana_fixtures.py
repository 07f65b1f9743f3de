"""Baselines for the Kibana tests: a demo-like model with every feature type and awkward
feature names (dots, spaces, capitals), and a minimal regression model."""

from __future__ import annotations

from predwatch import schema as s
from predwatch.baseline import (
    Baseline,
    CategoricalProfile,
    FeatureProfile,
    NumericProfile,
    PredictionProfile,
    TextProfile,
    Tokenizer,
)

ROWS = 1000
DEMO_MODEL = "demo"


def _numeric(
    edges: tuple[float, ...], mean: float, var: float, lo: float, hi: float, n: int
) -> NumericProfile:
    k = len(edges) + 1
    counts = [n // k] * k
    counts[-1] += n - sum(counts)
    return NumericProfile(edges, tuple(float(c) for c in counts), mean, var, lo, hi, n)


def _categorical(
    freq: dict[str, int], other: int, extra: tuple[str, ...] = ()
) -> CategoricalProfile:
    return CategoricalProfile(
        freq, other, frozenset(freq) | frozenset(extra), sum(freq.values()) + other
    )


def demo_baseline(model: str = DEMO_MODEL) -> Baseline:
    """A loan-approval-like classifier: numeric, categorical and text inputs."""
    features = (
        FeatureProfile(
            "age",
            s.FeatureType.NUMERIC,
            ROWS,
            10,
            numeric=_numeric((25.0, 35.0, 45.0, 55.0), 41.2, 130.0, 18.0, 90.0, 990),
        ),
        FeatureProfile(
            "income",
            s.FeatureType.NUMERIC,
            ROWS,
            0,
            numeric=_numeric((2e4, 4e4, 6e4), 48000.0, 4e8, 0.0, 250000.0, ROWS),
        ),
        FeatureProfile(
            "loan amount",
            s.FeatureType.NUMERIC,
            ROWS,
            0,
            numeric=_numeric((5e3, 1e4), 9000.0, 2.5e7, 500.0, 50000.0, ROWS),
        ),
        FeatureProfile(
            "country",
            s.FeatureType.CATEGORICAL,
            ROWS,
            5,
            categorical=_categorical({"DE": 400, "FR": 300, "NL": 200}, 95, ("BE", "LU", "AT")),
        ),
        FeatureProfile(
            "device.Type",
            s.FeatureType.CATEGORICAL,
            ROWS,
            0,
            categorical=_categorical({"mobile": 600, "desktop": 350, "tablet": 50}, 0),
        ),
        FeatureProfile(
            "comment",
            s.FeatureType.TEXT,
            ROWS,
            100,
            text=TextProfile(
                Tokenizer(),
                {"loan": 300, "house": 120, "car": 90},
                0.04,
                _numeric((5.0, 10.0), 8.0, 16.0, 1.0, 60.0, 900),
                900,
            ),
        ),
    )
    prediction = PredictionProfile(
        "classification",
        value=_numeric((0.25, 0.5, 0.75), 0.42, 0.05, 0.0, 1.0, ROWS),
        label=_categorical({"approved": 580, "rejected": 420}, 0),
        classes=("approved", "rejected"),
    )
    b = Baseline(
        model,
        "1.0.0",
        "2026-01-15T10:00:00Z",
        "sha256:0f1e2d",
        "2026-01-15T10:05:00Z",
        ROWS,
        features,
        prediction,
    )
    return Baseline.from_dict(b.to_dict())  # the same validation a baseline file goes through


def regression_baseline(model: str = "prices") -> Baseline:
    """A regression model with one numeric feature and no classes."""
    features = (
        FeatureProfile(
            "size_m2",
            s.FeatureType.NUMERIC,
            ROWS,
            0,
            numeric=_numeric((50.0, 100.0), 80.0, 900.0, 10.0, 400.0, ROWS),
        ),
    )
    prediction = PredictionProfile(
        "regression", value=_numeric((1e5, 3e5), 2e5, 1e10, 1e4, 2e6, ROWS)
    )
    b = Baseline(model, "2", None, None, "2026-01-15T10:05:00Z", ROWS, features, prediction)
    return Baseline.from_dict(b.to_dict())


AWKWARD_NAMES = ("loan amount", "device.Type", "Score (raw)", "a:b", "ünï cödé")


def wide_baseline(model: str = "wide", n: int = 40) -> Baseline:
    """`n` features cycling through the three types, some with awkward names."""
    kinds = (s.FeatureType.NUMERIC, s.FeatureType.CATEGORICAL, s.FeatureType.TEXT)
    features = []
    for i in range(n):
        kind = kinds[i % 3]
        name = AWKWARD_NAMES[i] if i < len(AWKWARD_NAMES) else f"f{i:03d}"
        if kind is s.FeatureType.NUMERIC:
            features.append(
                FeatureProfile(
                    name, kind, ROWS, 0, numeric=_numeric((1.0,), 1.0, 1.0, 0.0, 2.0, ROWS)
                )
            )
        elif kind is s.FeatureType.CATEGORICAL:
            features.append(
                FeatureProfile(name, kind, ROWS, 0, categorical=_categorical({"a": ROWS}, 0))
            )
        else:
            features.append(
                FeatureProfile(
                    name,
                    kind,
                    ROWS,
                    0,
                    text=TextProfile(
                        Tokenizer(), {"w": 5}, 0.1, _numeric((), 3.0, 1.0, 1.0, 5.0, ROWS), ROWS
                    ),
                )
            )
    b = Baseline(model, "v1", None, None, "2026-01-15T10:05:00Z", ROWS, tuple(features), None)
    return Baseline.from_dict(b.to_dict())


def label_only_baseline(model: str = "labels") -> Baseline:
    """A classifier that logs a label but no score."""
    features = (
        FeatureProfile(
            "colour",
            s.FeatureType.CATEGORICAL,
            ROWS,
            0,
            categorical=_categorical({"red": 600, "blue": 400}, 0),
        ),
    )
    prediction = PredictionProfile(
        "classification", label=_categorical({"yes": 500, "no": 500}, 0), classes=("yes", "no")
    )
    b = Baseline(model, "3", None, None, "2026-01-15T10:05:00Z", ROWS, features, prediction)
    return Baseline.from_dict(b.to_dict())
