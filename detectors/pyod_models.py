"""PyOD detectors behind the harness contract, with early or late fusion of the modalities.

Eight are registered by short name (`knn`, `iforest`, ..., each also as `<name>-late`); every
other PyOD detector is available as "pyod:<Class>" or "pyod:<Class>-late" (e.g. "pyod:LODA",
"pyod:DeepSVDD-late"), made on first use from PyOD's own class name.

Early fusion: flatten each modality, standardise it on the training data (features constant
there are dropped), concatenate, and
fit one PyOD model. Late fusion: one PyOD model per modality, each model's scores z-scored
with its training-score mean and spread, then averaged. Neither sees class labels.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import importlib.util
import inspect
import logging
import re
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from mmadbench.datasets.data import MultiModalData
from mmadbench.errors import RegistryError

from .base import Capabilities, Detector
from .constraints import SEED, Device

logger = logging.getLogger(__name__)


def _flat(data: MultiModalData, name: str) -> np.ndarray:
    return data[name].reshape(len(data), -1).astype(np.float64)


class _Standardise:
    """Standardise features on training data and drop those constant there (e.g. blank image
    borders), which carry no information and make some PyOD models divide by zero."""

    def __init__(self, x: np.ndarray) -> None:
        from sklearn.preprocessing import StandardScaler

        self.keep = x.std(axis=0) > 0
        self.scaler = StandardScaler().fit(x[:, self.keep])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.scaler.transform(x[:, self.keep])


class PyODAdapter(Detector):
    """Any `pyod.models` class (named by `pyod_class`, "module.Class") with a fusion strategy."""

    pyod_class: ClassVar[str] = ""
    fusion: ClassVar[str] = "early"
    base_params: ClassVar[dict[str, Any]] = {}  # harness defaults, overridden by model_params
    parameter_constraints = {"random_state": SEED, "device": Device()}

    def __init__(
        self, model_params: dict[str, Any] | None = None, random_state: int | None = None, device: str = "cpu"
    ) -> None:
        self.model_params = model_params
        self.random_state = random_state
        self.device = device

    def _new_model(self, n_features: int):
        module, cls_name = self.pyod_class.rsplit(".", 1)
        cls = getattr(importlib.import_module(f"pyod.models.{module}"), cls_name)
        accepted = inspect.signature(cls.__init__).parameters
        kwargs: dict[str, Any] = {}
        for key, value in (
            ("random_state", self.random_state),
            ("device", self.device),
            ("verbose", 0),
            ("n_features", n_features),
        ):
            if key in accepted:
                kwargs[key] = value
        kwargs.update(self.base_params)
        kwargs.update(self.model_params or {})
        return cls(**kwargs)

    def _blocks(self, data: MultiModalData) -> list[np.ndarray]:
        """Feature blocks the models see: one concatenated block (early) or one per modality."""
        scaled = [s(_flat(data, m)) for m, s in zip(self.modalities_, self.scalers_)]
        return [np.hstack(scaled)] if self.fusion == "early" else scaled

    def fit(self, train: MultiModalData, val: MultiModalData | None = None) -> PyODAdapter:
        self.modalities_ = list(train.names)
        self.scalers_ = [_Standardise(_flat(train, m)) for m in self.modalities_]
        self.models_, self.score_stats_ = [], []
        for block in self._blocks(train):
            model = self._new_model(block.shape[1]).fit(block)
            train_scores = np.asarray(model.decision_scores_, dtype=np.float64)
            self.models_.append(model)
            self.score_stats_.append((train_scores.mean(), train_scores.std() + 1e-12))
        # deep PyOD models train in epochs; the harness reports time per epoch for them
        self.n_epochs_ = getattr(self.models_[0], "epoch_num", None) or getattr(self.models_[0], "epochs", None)
        return self

    def score(self, data: MultiModalData) -> np.ndarray:
        if self.fusion == "early":
            return np.asarray(self.models_[0].decision_function(self._blocks(data)[0]), dtype=np.float64)
        if not data.has_missing:
            parts = [
                (m.decision_function(b) - mu) / sd
                for m, b, (mu, sd) in zip(self.models_, self._blocks(data), self.score_stats_)
            ]
            return np.mean(parts, axis=0)
        # native missing-modality support: each modality's model scores only the samples that
        # have it (a transductive model's batch statistics never see a missing entry), and a
        # sample's score is the mean z-score of the modalities it has
        seen = np.stack([data.observed(m) for m in self.modalities_])
        if not seen.any(axis=0).all():
            raise ValueError(f"{self.name}: a sample lacks every modality; there is nothing to score it by")
        total = np.zeros(len(data))
        for model, block, (mu, sd), rows in zip(self.models_, self._blocks(data), self.score_stats_, seen):
            if rows.any():
                total[rows] += (model.decision_function(block[rows]) - mu) / sd
        return total / seen.sum(axis=0)


# Harness defaults that differ from PyOD's. PCA: keep the components explaining 99 % of the
# variance, since with all components a rank-deficient block (e.g. captions drawn from a few
# templates) has zero-variance components and PyOD's weighted score divides by zero.
BASE_PARAMS: dict[str, dict[str, Any]] = {"pca": {"n_components": 0.99}}
# Fast parameters for the conformance kit, and PyOD models whose decision_function refits on the
# scored batch with the training data (ECOD's and COPOD's empirical CDFs): transductive.
TEST_PARAMS: dict[str, dict[str, Any]] = {"autoencoder": {"model_params": {"epoch_num": 2}}}
TRANSDUCTIVE_CLASSES = frozenset({"ECOD", "COPOD"})

# registry name -> pyod module.Class; each is registered with early fusion and as "<name>-late"
PYOD_MODELS = {
    "iforest": "iforest.IForest",
    "lof": "lof.LOF",
    "knn": "knn.KNN",
    "ocsvm": "ocsvm.OCSVM",
    "ecod": "ecod.ECOD",
    "copod": "copod.COPOD",
    "pca": "pca.PCA",
    "autoencoder": "auto_encoder.AutoEncoder",
}
FUSIONS = (("early", ""), ("late", "-late"))
PREFIX = "pyod:"


def _class_name(path: str, fusion: str, builtin: bool) -> str:
    """The adapter's class name: built-ins ("knn") and catalogue names ("pyod:KNN") differ, since
    their harness defaults may differ (PCA) and each must unpickle as itself."""
    return f"{'Builtin' if builtin else 'PyOD'}_{path.rsplit('.', 1)[1]}_{fusion}"


def builtin_targets() -> list[tuple[str, str, str, str]]:
    """(registry name, import target, fusion, PyOD class) of every built-in PyOD detector."""
    return [
        (key + suffix, f"{__name__}:{_class_name(path, fusion, True)}", fusion, path.rsplit(".", 1)[1])
        for key, path in PYOD_MODELS.items()
        for fusion, suffix in FUSIONS
    ]


def capabilities(pyod_class: str, fusion: str) -> Capabilities:
    """Any number of modalities, one included; late fusion scores samples that lack a modality
    from the modalities they have."""
    return Capabilities(
        transductive=pyod_class in TRANSDUCTIVE_CLASSES, min_modalities=1, handles_missing=fusion == "late"
    )


@functools.cache
def _adapter(path: str, fusion: str, builtin_key: str | None = None) -> type[PyODAdapter]:
    """The adapter class for the PyOD class `path` ("module.Class") with `fusion`; a built-in
    (`builtin_key`) carries the harness defaults and fast test parameters of its short name."""
    short = path.rsplit(".", 1)[1]
    return type(
        _class_name(path, fusion, builtin_key is not None),
        (PyODAdapter,),
        {
            "pyod_class": path,
            "fusion": fusion,
            "__doc__": f"PyOD {short} with {fusion} fusion of the modalities.",
            "family": f"PyOD {fusion} fusion",
            "base_params": BASE_PARAMS.get(builtin_key or "", {}),
            "capabilities": capabilities(short, fusion),
            "test_params": TEST_PARAMS.get(builtin_key or "", {}),
            "__module__": __name__,
        },
    )


_CLASS_LINE = re.compile(r"^class (\w+)\((?:BaseDetector|BaseDeepLearningDetector)\)", re.M)


@functools.lru_cache(maxsize=1)
def pyod_catalog() -> dict[str, str]:
    """Every detector class of the installed PyOD ("Class" -> "module.Class"), found by reading
    pyod/models/*.py: importing them all would load torch and more for nothing."""
    spec = importlib.util.find_spec("pyod.models")
    if spec is None or not spec.submodule_search_locations:
        return {}
    out = {}
    for path in sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.py")):
        for match in _CLASS_LINE.finditer(path.read_text(errors="ignore")):
            out.setdefault(match.group(1), f"{path.stem}.{match.group(1)}")
    return out


def catalog_names() -> list[str]:
    """Every "pyod:<Class>" name and its "-late" twin."""
    return [f"{PREFIX}{c}{suffix}" for c in sorted(pyod_catalog()) for _, suffix in FUSIONS]


def resolve(name: str) -> type[PyODAdapter]:
    """The adapter for "pyod:<Class>" (early fusion) or "pyod:<Class>-late"; an unknown class
    raises and names the close ones."""
    model = name[len(PREFIX) :]
    fusion = "late" if model.endswith("-late") else "early"
    model = model.removesuffix("-late")
    path = pyod_catalog().get(model)
    if path is None:
        close = difflib.get_close_matches(model, pyod_catalog(), n=3)
        hint = f"did you mean {[PREFIX + c for c in close]}?" if close else "see `mmadbench list detectors --all`"
        raise RegistryError(f"PyOD has no detector {model!r}; {hint}")
    return _adapter(path, fusion)


def __getattr__(name: str) -> type[PyODAdapter]:
    """Adapter classes made on first use ("Builtin_<Class>_<fusion>", "PyOD_<Class>_<fusion>"),
    so the registry imports them by name and their instances unpickle in a fresh process."""
    match = re.fullmatch(r"(Builtin|PyOD)_(\w+)_(early|late)", name)
    if match and match.group(1) == "Builtin":
        keys = [k for k, p in PYOD_MODELS.items() if p.rsplit(".", 1)[1] == match.group(2)]
        if keys:
            return _adapter(PYOD_MODELS[keys[0]], match.group(3), keys[0])
    elif match and match.group(2) in pyod_catalog():
        return _adapter(pyod_catalog()[match.group(2)], match.group(3))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
