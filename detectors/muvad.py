"""MUVAD: multi-view anomaly detection by neighbourhood consistency (Sheng et al., AAAI 2019).

Rebuilt from a secondary description: the paper could not be read; this follows the description in
shared/papers/baselines.md. Per view v a k-NN affinity W^v (Gaussian weights on the k nearest,
symmetrised); A = sum over view pairs v < u of W^v * W^u (element-wise, so an edge survives
only when the two samples are neighbours in both views); a normal-indicator y with
1'y = N - m maximising y'Ay, relaxed either to the box y in [0, 1]^N (`solver="qp"`) or to the
leading eigenvector of A (`solver="spectral"`); the score of sample i is -(A y)_i.

Choices made in rebuilding it (constructor parameters where they are numbers):
- views: every modality flattened and min-max scaled with training statistics (as SCoNE).
- W^v: the k nearest neighbours (self excluded) by Euclidean distance, weights exp(-d^2 / s^2)
  with the kernel width s = `bandwidth` x the mean distance to the k-th neighbour in that view;
  symmetrised by the element-wise maximum of W and W'. All matrices are scipy.sparse (CSR);
  nothing N x N is dense.
- QP: projected gradient ascent y <- P(y + A y / L), L = the largest weighted degree (a bound
  on the largest eigenvalue), from the uniform feasible point; P is the Euclidean projection
  onto {y in [0,1]^N, 1'y = N - m}, clip(z - tau, 0, 1) with tau found by bisection.
- spectral: A is block-diagonal over its connected components and its single leading
  eigenvector is zero on every component but one, so we take the leading (Perron) eigenvector
  of every component at once, by a power iteration on A + (L/2) I renormalised to mean 1 per
  component, then scale y to 1'y = N - m.
- transductive in the paper; applied here as follows: `fit` keeps the scaled clean training set
  as a reference (at most `max_reference` samples, drawn with `random_state`); `score(data)`
  builds the graph on reference U data, solves for y there with m = round(`anomaly_ratio` x
  len(data)) (the anomalies are expected in the scored data only) and returns -(A y) of the
  data's rows. Scoring is pure: the same data always gives the same scores.
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from sklearn.neighbors import NearestNeighbors

from mmadbench.datasets.data import MultiModalData

from .base import Capabilities, Detector
from .constraints import SEED, Integer, OneOf, Optional, Real
from .multiview_inputs import MinMaxViews

logger = logging.getLogger(__name__)


def knn_affinity(x: np.ndarray, k: int, bandwidth: float) -> sp.csr_matrix:
    """Symmetrised Gaussian k-NN affinity of the rows of x (sparse, zero diagonal)."""
    dist, idx = NearestNeighbors(n_neighbors=k).fit(x).kneighbors()  # no query: self excluded
    width = bandwidth * max(float(dist[:, -1].mean()), 1e-12)
    rows = np.repeat(np.arange(len(x)), k)
    w = sp.csr_matrix((np.exp(-((dist.ravel() / width) ** 2)), (rows, idx.ravel())), shape=(len(x), len(x)))
    return w.maximum(w.T).tocsr()


def consistency_matrix(views: list[np.ndarray], k: int, bandwidth: float) -> sp.csr_matrix:
    """A = sum over view pairs of the element-wise product of their k-NN affinities."""
    graphs = [knn_affinity(v, k, bandwidth) for v in views]
    pairs = [graphs[a].multiply(graphs[b]) for a in range(len(graphs)) for b in range(a + 1, len(graphs))]
    return sp.csr_matrix(sum(pairs[1:], pairs[0]))


def project_capped_simplex(z: np.ndarray, total: float, iters: int = 60) -> np.ndarray:
    """Euclidean projection of z onto {y in [0, 1]^n, sum(y) = total}, by bisection on the shift."""
    lo, hi = float(z.min()) - 1.0, float(z.max())
    for _ in range(iters):
        tau = 0.5 * (lo + hi)
        if np.clip(z - tau, 0.0, 1.0).sum() > total:
            lo = tau
        else:
            hi = tau
    return np.clip(z - 0.5 * (lo + hi), 0.0, 1.0)


def solve_qp(a: sp.csr_matrix, total: float, max_iter: int, tol: float) -> tuple[np.ndarray, int]:
    """Relaxed QP: maximise y'Ay over the capped simplex by projected gradient ascent."""
    n = a.shape[0]
    lipschitz = max(float(np.asarray(a.sum(axis=1)).max()), 1e-12)
    y = np.full(n, total / n)
    for it in range(1, max_iter + 1):
        new = project_capped_simplex(y + (a @ y) / lipschitz, total)
        change = float(np.abs(new - y).max())
        y = new
        if change < tol:
            return y, it
    return y, max_iter


def solve_spectral(a: sp.csr_matrix, total: float, max_iter: int, tol: float) -> tuple[np.ndarray, int]:
    """Leading eigenvector of every connected component of A (mean 1 each), scaled to sum `total`."""
    n = a.shape[0]
    n_comp, comp = connected_components(a, directed=False)
    size = np.bincount(comp, minlength=n_comp).astype(np.float64)
    shift = 0.5 * max(float(np.asarray(a.sum(axis=1)).max()), 1e-12)
    v = np.ones(n)
    for it in range(1, max_iter + 1):
        new = a @ v + shift * v
        new *= (size / np.maximum(np.bincount(comp, weights=new, minlength=n_comp), 1e-300))[comp]
        change = float(np.abs(new - v).max())
        v = new
        if change < tol:
            return v * (total / v.sum()), it
    return v * (total / v.sum()), max_iter


class MUVAD(Detector):
    """MUVAD (Sheng et al., AAAI 2019), rebuilt from a secondary description: k-NN affinities
    consistent across views, score -(A y). The module docstring gives the method and our choices.

    Parameters
    ----------
    k : int
        Neighbours of each view's affinity graph.
    anomaly_ratio : float
        Expected share of anomalies in the scored data (m of the constraint 1'y = N - m).
    bandwidth : float
        Kernel width as a multiple of the mean distance to the k-th neighbour.
    solver : {"qp", "spectral"}
        Box-relaxed QP by projected gradient, or the leading eigenvector per component.
    max_iter, tol : int, float
        Iteration limit and stopping change of the solver.
    max_reference : int or None
        At most this many training samples kept as the reference set.
    random_state : int or None
        Seed of the reference subsample.
    """

    name = "muvad"
    family = "multi-view"
    rebuilt_from_description = True
    capabilities = Capabilities(transductive=True)  # fit keeps the reference set; the graph is solved in score
    parameter_constraints = {
        "k": Integer(1),
        "anomaly_ratio": Real(0, 1, high_inclusive=False),
        "bandwidth": Real(0, inclusive=False),
        "solver": OneOf("qp", "spectral"),
        "max_iter": Integer(1),
        "tol": Real(0, inclusive=False),
        "max_reference": Optional(Integer(1)),
        "random_state": SEED,
    }

    def __init__(
        self,
        k: int = 10,
        anomaly_ratio: float = 0.1,
        bandwidth: float = 1.0,
        solver: str = "qp",
        max_iter: int = 300,
        tol: float = 1e-6,
        max_reference: int | None = None,
        random_state: int | None = None,
    ) -> None:
        self.k = k
        self.anomaly_ratio = anomaly_ratio
        self.bandwidth = bandwidth
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.max_reference = max_reference
        self.random_state = random_state

    def fit(self, train: MultiModalData, val: MultiModalData | None = None) -> MUVAD:
        self.scaler_ = MinMaxViews.fit(train)
        keep = np.arange(len(train))
        if self.max_reference is not None and len(train) > self.max_reference:
            keep = np.sort(
                np.random.default_rng(self.random_state).choice(len(train), self.max_reference, replace=False)
            )
        self.reference_ = [v[keep] for v in self.scaler_.transform(train)]
        return self

    def normality(self, data: MultiModalData) -> np.ndarray:
        """(A y)_i for every sample of `data`, on the graph over reference U data."""
        views = [np.vstack([r, v]) for r, v in zip(self.reference_, self.scaler_.transform(data))]
        n_total = len(views[0])
        k = min(int(self.k), n_total - 1)
        a = consistency_matrix(views, k, self.bandwidth)
        total = n_total - round(self.anomaly_ratio * len(data))
        solve = solve_qp if self.solver == "qp" else solve_spectral
        y, iters = solve(a, float(total), int(self.max_iter), float(self.tol))
        logger.debug("muvad: %s solver stopped after %d iterations on %d nodes", self.solver, iters, n_total)
        return np.asarray(a @ y)[n_total - len(data) :]

    def score(self, data: MultiModalData) -> np.ndarray:
        return -self.normality(data)
