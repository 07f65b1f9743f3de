"""The demo's model: scikit-learn, numeric + categorical + free-text inputs -> P(disrupted).

    ColumnTransformer: numeric -> median imputation (+ missing indicators) -> StandardScaler
                       categorical -> constant imputation -> OneHotEncoder (rare -> infrequent)
                       text -> TF-IDF (unigrams, sublinear tf)
    -> LogisticRegression

`train` fits the production model. `train_experiment` fits the model that gets deployed by
mistake in the demo: an experiment that dropped the text and re-weighted the classes, so its
scores are shifted upwards and it is less accurate.
"""

from __future__ import annotations

import hashlib
import pickle
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from predwatch.demo import dataset as ds

# scikit-learn warns once per serving thread that its config did not reach the
# ColumnTransformer's joblib calls (they run in the request thread, n_jobs=None: nothing to
# propagate); the demo's story is what users read, not this.
warnings.filterwarnings(
    "ignore", message=r"`sklearn\.utils\.parallel\.delayed` should be used", category=UserWarning
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

VERSION = "1.4.0"
EXPERIMENT_VERSION = "2.0.0-exp"
THRESHOLD = 0.5


def pipeline(*, text: bool = True, class_weight: str | None = None) -> Any:
    """The unfitted scikit-learn pipeline."""
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    parts: list[tuple[str, Any, Any]] = [
        (
            "numeric",
            make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()),
            list(ds.NUMERIC),
        ),
        (
            "categorical",
            make_pipeline(
                SimpleImputer(strategy="constant", fill_value="(missing)"),
                OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=5),
            ),
            list(ds.CATEGORICAL),
        ),
    ]
    if text:
        # One text column: TfidfVectorizer takes the column name (a 1-d selection).
        parts.append(
            (
                "text",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value=""),
                    _Flatten(),
                    TfidfVectorizer(min_df=2, sublinear_tf=True, max_features=5000),
                ),
                list(ds.TEXT),
            )
        )
    # liblinear shuffles the rows with numpy's global state unless given a seed: without one,
    # each run's model (and every estimate the story prints) differed in the third digit
    model = LogisticRegression(
        max_iter=1000, solver="liblinear", class_weight=class_weight, random_state=0
    )
    return Pipeline([("features", ColumnTransformer(parts)), ("classifier", model)])


class _Flatten:
    """(n, 1) array of strings -> list of n strings, for the vectorizer."""

    def fit(self, x: Any, y: Any = None) -> _Flatten:
        return self

    def transform(self, x: Any) -> list[str]:
        return [str(v) for v in x[:, 0]]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {}

    def set_params(self, **params: Any) -> _Flatten:
        return self


@dataclass
class Model:
    """A fitted pipeline with its version, as the serving app holds it."""

    version: str
    pipeline: Any
    trained_at: str

    def score(self, rows: Sequence[dict[str, Any]]) -> list[float]:
        """P(disrupted) for each input dict (missing keys are missing values)."""
        positive = list(self.pipeline.classes_).index(1)
        return [float(p) for p in self.pipeline.predict_proba(to_frame(rows))[:, positive]]

    def hash(self) -> str:
        """sha256 of the pickled pipeline (what `model.hash` carries)."""
        return "sha256:" + hashlib.sha256(pickle.dumps(self.pipeline)).hexdigest()


def to_frame(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """The model's input frame; training and serving both go through here, so a missing
    value looks the same to the pipeline in both (NaN, in float or object columns)."""
    import numpy as np
    import pandas as pd

    columns: dict[str, Any] = {}
    for name in ds.NUMERIC:
        values = [r.get(name) for r in rows]
        columns[name] = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").astype(
            "float64"
        )
    for name in (*ds.CATEGORICAL, *ds.TEXT):
        values = [r.get(name) for r in rows]
        columns[name] = pd.Series([np.nan if v is None else str(v) for v in values], dtype=object)
    return pd.DataFrame(columns)


def label(score: float) -> str:
    return ds.POSITIVE if score >= THRESHOLD else ds.NEGATIVE


def _xy(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    return to_frame(ds.records(frame)), frame[ds.TARGET]


def train(frame: pd.DataFrame, trained_at: str) -> Model:
    """The production model, fitted on `frame`."""
    x, y = _xy(frame)
    return Model(VERSION, pipeline().fit(x, y), trained_at)


def train_experiment(frame: pd.DataFrame, trained_at: str) -> Model:
    """The experiment deployed by mistake: no text, class-balanced weights."""
    x, y = _xy(frame)
    return Model(
        EXPERIMENT_VERSION, pipeline(text=False, class_weight="balanced").fit(x, y), trained_at
    )


def out_of_fold_scores(frame: pd.DataFrame, folds: int = 5, seed: int = 7) -> np.ndarray:
    """P(disrupted) for every training row from a model that did not see it.

    The baseline's prediction profile must describe scores on unseen data: scores of the
    rows the model was fitted on are over-confident and would look like drift in serving.
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    x, y = _xy(frame)
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    proba = cross_val_predict(pipeline(), x, y, cv=cv, method="predict_proba")
    return proba[:, 1]  # type: ignore[no-any-return]


def auc(model: Model, frame: pd.DataFrame) -> float:
    """ROC AUC of `model` on `frame` (for the demo's summary line)."""
    from sklearn.metrics import roc_auc_score

    scores = model.score(ds.records(frame))
    return float(roc_auc_score(frame[ds.TARGET], scores))


def held_out_metrics(frame: pd.DataFrame, scores: np.ndarray) -> dict[str, float]:
    """Quality metrics of out-of-fold `scores` (the baseline's held-out metrics).

    Named as `predwatch quality` names them; the positive class is "disrupted" and the
    label is the score thresholded at THRESHOLD, as served.
    """
    from sklearn import metrics as skm

    y = frame[ds.TARGET].to_numpy()
    predicted = (scores >= THRESHOLD).astype("int64")
    return {
        "accuracy": float(skm.accuracy_score(y, predicted)),
        "precision": float(skm.precision_score(y, predicted, zero_division=0)),
        "recall": float(skm.recall_score(y, predicted, zero_division=0)),
        "f1": float(skm.f1_score(y, predicted, zero_division=0)),
        "roc_auc": float(skm.roc_auc_score(y, scores)),
        "log_loss": float(skm.log_loss(y, scores, labels=[0, 1])),
    }
