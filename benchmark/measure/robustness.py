"""Modality robustness of one cell: leaving a modality out (ablation) and scoring test data in
which a share of samples lacks a modality (missing at test time).

An ablation cell is an ordinary cell on splits without one modality: the detector fits and
scores without it, so its AUC beside the full cell's is what that modality contributes. A
detector that needs the dropped modality's company (a pair method left with one modality) is
skipped with its own reason.

Missing at test time reuses the cell's fitted detector: for each modality, share and
imputation, the test split gets that share of samples without the modality (nested masks, see
`datasets.missing`), the gap is filled by the imputation fitted on the training data (or left
to the detector when it declares `handles_missing`: imputation "native"), and the detector
scores it blind. Validation data stays complete; only threshold-free metrics (AUC, AUPRC) are
reported, since the threshold was chosen on complete data. A condition that fails records its
error and leaves the cell standing. The extra scorings run inside the cell's time limit and count
towards its peak memory (not towards its fit and score times).

This module's code is part of the identity of every robustness cell (`cell.expand`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from mmadbench.benchmark.measure import metrics
from mmadbench.benchmark.measure.evaluate import Shuffler
from mmadbench.datasets.data import MultiModalData
from mmadbench.datasets.missing import NATIVE, make_imputer, mask_modality, missing_order
from mmadbench.datasets.splits import Splits
from mmadbench.detectors.base import Capabilities, Detector

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MissingPlan:
    """What a cell scores besides its complete test split: each of `modalities` missing in each
    of `shares` of the test samples, filled by each of `imputations` (and natively where declared)."""

    modalities: tuple[str, ...]
    shares: tuple[float, ...]
    imputations: tuple[str, ...]


def drop_modality(splits: Splits, modality: str) -> Splits:
    """The splits without `modality` (anomaly truth unchanged: it was injected with it present)."""
    keep = [m for m in splits.train.names if m != modality]
    return Splits(*(part.select_modalities(keep) for part in (splits.train, splits.val, splits.test)))


def _condition(
    detector: Detector,
    masked: MultiModalData,
    method: str,
    imputers: dict,
    shuffle: Shuffler,
    truth: np.ndarray,
    modality: str,
    share: float,
) -> dict:
    """One condition's record; a condition that fails (NaN scores, an imputation error) records
    its error and leaves the cell's own numbers and the other conditions standing."""
    record = {
        "modality": modality,
        "share": share,
        "imputation": method,
        "n_missing": int((~masked.observed(modality)).sum()),
    }
    what = f"test with {share:.0%} missing {modality}, {method}"
    try:
        data = masked if method == NATIVE else imputers[method].impute(masked)
        scores = shuffle.score(detector, data, detector.name, what)
        record.update(metrics.ranking_metrics(scores, truth, what))
    except Exception as exc:  # recorded with the condition, never fatal to the cell
        logger.warning("%s: %s failed: %s: %s", detector.name, what, type(exc).__name__, exc)
        record.update(auc=None, auprc=None, error=f"{type(exc).__name__}: {exc}"[:500])
    return record


def missing_at_test(detector: Detector, caps: Capabilities, splits: Splits, seed: int, plan: MissingPlan) -> list[dict]:
    """One record per (modality, share, imputation): AUC and AUPRC of the fitted `detector` on the
    test split with that share of samples lacking the modality. Scoring order is seeded apart
    from the cell's own (the complete test split's scores are not affected)."""
    test, truth = splits.test, np.asarray(splits.test.anomaly, bool)
    methods = list(plan.imputations) + ([NATIVE] if caps.handles_missing else [])
    shuffle = Shuffler(seed + 1_000_003)
    records = []
    train = splits.train.blind()
    for index, modality in enumerate(test.names):
        if modality not in plan.modalities:
            continue
        order = missing_order(len(test), seed, index)
        imputers = {name: make_imputer(name).fit(train) for name in plan.imputations}
        for share in plan.shares:
            masked = mask_modality(test, modality, share, order)
            for method in methods:
                records.append(_condition(detector, masked, method, imputers, shuffle, truth, modality, share))
        logger.debug("%s: missing %s scored under %d conditions", detector.name, modality, len(records))
    return records
