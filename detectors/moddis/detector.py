"""MODDIS as a Detector: the TorchDetector loop in windows of SGD steps, then the outlier factor."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch
from sklearn.neighbors import NearestNeighbors

from mmadbench.datasets.data import MultiModalData

from ..constraints import SEED, Device, Integer, Optional, Real, require
from ..multiview_inputs import MinMaxViews
from ..torch_detector import TorchDetector
from .loss import moddis_loss, settled
from .model import MODDISNet


def outlier_factor(codes: list[np.ndarray], knn_dist: list[np.ndarray], alpha: float) -> np.ndarray:
    """O_i = sum_v [V ||h_i^v - mean_u h_i^u|| + alpha d_k(h_i^v)]."""
    n_views = len(codes)
    centre = np.mean(codes, axis=0)
    deviation = sum(np.linalg.norm(h - centre, axis=1) for h in codes)
    return n_views * deviation + alpha * sum(knn_dist)


class MODDIS(TorchDetector):
    """MODDIS: multi-view outlier detection in deep intact space.

    Ji et al., ICDM 2019 (official code verified: sigerma/ICDM-2019-MODDIS). Views min-max
    scaled; a common encoder g on the concatenated views and one encoder f_v per view; the code
    of view v is h^v = g(x) + f_v(x^v). Loss = beta * sum_v mean(f_v^2) + sum_v |mean pair
    distance in latent space - the same in input space|, over random pairs; SGD with an
    exponentially decaying rate. Score O_i = sum_v [V ||h_i^v - mean_u h_i^u|| + alpha d_k(h_i^v)].

    Departures from the official code, on purpose (NOTES.md): training runs until the loss
    settles (the mean loss of a window of `window` steps changes by less than `tol`, relative),
    not a fixed 80 steps; the mean over views has no in-place update zeroing view 0; g(x) and
    f_v(x^v) come from the same sample; the detector fits on clean training data and scores new
    samples, d_k being the distance to the k-th nearest training code (an exact match skipped).
    An epoch of the training loop is one window of steps; `n_epochs_` counts passes over the
    training data (steps x 2 x batch_pairs / training samples).

    Parameters
    ----------
    hidden, latent : int
        Encoder widths (80 and 30 in the code).
    beta : float
        Weight of the sparsity term.
    k : int
        Neighbour of the k-NN distance.
    alpha : float or None
        Weight of the k-NN distance; None = the number of views.
    lr, lr_decay, decay_steps : float, float, int
        SGD rate, decayed by lr_decay every decay_steps (continuously).
    batch_pairs : int
        Random pairs per step.
    max_steps, window, tol : int, int, float
        Step limit, steps per window (one loop epoch), and the relative change that stops training.
    random_state : int or None
        Seed of weights and pairs.
    device : str
        "cpu", "cuda", "cuda:<i>" or "auto".
    """

    reusable_training = True  # training reads only the training data (see TorchDetector)

    name = "moddis"
    test_params = {"max_steps": 200}  # few epochs for the conformance kit
    family = "multi-view"
    parameter_constraints = {
        "hidden": Integer(1),
        "latent": Integer(1),
        "beta": Real(0),
        "k": Integer(1),
        "alpha": Optional(Real(0)),
        "lr": Real(0, inclusive=False),
        "lr_decay": Real(0, inclusive=False),
        "decay_steps": Integer(1),
        "batch_pairs": Integer(1),
        "max_steps": Integer(1),
        "window": Integer(1),
        "tol": Real(0, inclusive=False),
        "random_state": SEED,
        "device": Device(),
    }

    def __init__(
        self,
        hidden: int = 80,
        latent: int = 30,
        beta: float = 3.0,
        k: int = 1,
        alpha: float | None = None,
        lr: float = 0.5,
        lr_decay: float = 0.99,
        decay_steps: int = 900,
        batch_pairs: int = 256,
        max_steps: int = 5000,
        window: int = 100,
        tol: float = 0.01,
        random_state: int | None = None,
        device: str = "cpu",
    ) -> None:
        self.hidden = hidden
        self.latent = latent
        self.beta = beta
        self.k = k
        self.alpha = alpha
        self.lr = lr
        self.lr_decay = lr_decay
        self.decay_steps = decay_steps
        self.batch_pairs = batch_pairs
        self.max_steps = max_steps
        self.window = window
        self.tol = tol
        self.random_state = random_state
        self.device = device

    def _check_with_data(self, train: MultiModalData) -> None:
        require(
            self.k < len(train),
            self.name,
            f"k ({self.k}) must be smaller than the number of training samples ({len(train)})",
        )

    # ---- training: windows of SGD steps on random pairs ---------------------------------------
    def _build(self, train: MultiModalData) -> MODDISNet:
        self.scaler_ = MinMaxViews.fit(train)
        dims = [int(np.prod(train[m].shape[1:])) for m in train.names]
        return MODDISNet(dims, self.hidden, self.latent)

    def _training_inputs(self, data: MultiModalData) -> list[torch.Tensor]:
        return [torch.as_tensor(v, device=self.device_) for v in self.scaler_.transform(data)]

    def _optimiser(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.net_.parameters(), lr=self.lr)

    def _lr_factor(self, step: int, steps_per_epoch: int) -> float:
        return self.lr_decay ** (step / self.decay_steps)

    def _n_epochs(self) -> int:
        return math.ceil(self.max_steps / self.window)

    def _steps_per_epoch(self, n: int) -> int:
        return int(self.window)

    def _epoch_batches(self, n: int, epoch: int, gen: torch.Generator) -> Iterator[torch.Tensor]:
        """`window` steps (fewer in a last partial window), each 2 x batch_pairs random samples."""
        for _ in range(min(self.window, self.max_steps - epoch * self.window)):
            yield torch.randint(n, (2 * self.batch_pairs,), generator=gen).to(self.device_)

    def _batch_loss(self, inputs: list[torch.Tensor], idx: torch.Tensor, epoch: int, gen: torch.Generator):
        batch = [x[idx] for x in inputs]
        codes, offsets = self.net_(batch)
        return moddis_loss(batch, codes, offsets, self.batch_pairs, self.beta)

    def _converged(self) -> bool:
        return settled(self.step_losses(), self.window, self.tol)

    def step_losses(self) -> list[float]:
        """The loss of every SGD step, in order."""
        return [v for epoch in self.batch_loss_history_ for v in epoch]

    def _epochs_done(self, n_train: int) -> float:
        # an epoch is one pass over the training data: each step draws 2 x batch_pairs samples
        return len(self.step_losses()) * 2 * self.batch_pairs / n_train

    def _after_training(self, train: MultiModalData, val: MultiModalData | None) -> None:
        self.train_codes_ = self._codes(self.scaler_.transform(train))
        self.neighbours_ = [NearestNeighbors(n_neighbors=self.k).fit(h) for h in self.train_codes_]

    # ---- scoring -------------------------------------------------------------------------------
    def _codes(self, views: list[np.ndarray]) -> list[np.ndarray]:
        """Latent codes h^v of every sample, per view, computed in batches."""

        def step(rows: slice) -> dict[str, torch.Tensor]:
            codes, _ = self.net_([torch.as_tensor(v[rows], device=self.device_) for v in views])
            return {str(i): h for i, h in enumerate(codes)}

        out = self._inference(len(views[0]), step, batch=8192)
        return [out[str(i)].astype(np.float64) for i in range(len(views))]

    def _knn_distance(self, view: int, codes: np.ndarray) -> np.ndarray:
        """Distance to the k-th nearest training code. Scored data are never training samples, so
        no neighbour is skipped: a test sample equal to a training one counts it. (Skipping a match
        closer than 1e-12, as before, depended on float32 rounding, which differs by batch.)"""
        dist, _ = self.neighbours_[view].kneighbors(codes, n_neighbors=self.k)
        return dist[:, self.k - 1]

    def score(self, data: MultiModalData) -> np.ndarray:
        codes = self._codes(self.scaler_.transform(data))
        alpha = float(len(codes) if self.alpha is None else self.alpha)
        knn = [self._knn_distance(v, h) for v, h in enumerate(codes)]
        return outlier_factor(codes, knn, alpha)
