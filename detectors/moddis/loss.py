"""MODDIS's loss (sparsity of the view-specific codes + distance preservation) and its stopping rule."""

from __future__ import annotations

import numpy as np
import torch


def moddis_loss(
    xs: list[torch.Tensor], codes: list[torch.Tensor], offsets: list[torch.Tensor], n_pairs: int, beta: float
) -> torch.Tensor:
    """beta * sum_v mean(f_v^2) + sum_v |mean latent pair distance - mean input pair distance|.

    Rows [0, n_pairs) of every tensor are the first members of the pairs, the rest the second.
    """
    sparsity = sum((o**2).mean() for o in offsets)
    preserve = [
        (((h[:n_pairs] - h[n_pairs:]) ** 2).mean() - ((x[:n_pairs] - x[n_pairs:]) ** 2).mean()).abs()
        for h, x in zip(codes, xs)
    ]
    return beta * sparsity + sum(preserve)


def settled(history: list[float], window: int, tol: float) -> bool:
    """True when the last window's mean loss differs from the one before by less than tol (relative)."""
    if len(history) < 2 * window or len(history) % window:
        return False
    last = float(np.mean(history[-window:]))
    before = float(np.mean(history[-2 * window : -window]))
    return abs(last - before) <= tol * max(abs(before), 1e-12)
