"""TBNN's losses: the bidirectional ranking loss with neighbourhood preservation, and the logistic loss."""

from __future__ import annotations

import torch
from torch.nn.functional import binary_cross_entropy_with_logits as bce

from ..networks import distance_matrix
from .model import TwoBranchNet


def top_k_hinge(violation: torch.Tensor, negative: torch.Tensor, k: int) -> torch.Tensor:
    """Mean of each anchor's k largest hinge terms [violation]_+ over its negatives (zeros when
    it has fewer), averaged over anchors: the official code's top-K negative selection."""
    hinge = torch.relu(violation) * negative
    return hinge.topk(min(k, hinge.shape[1]), dim=1).values.mean()


def ranking_loss(
    ex: torch.Tensor,
    ey: torch.Tensor,
    labels: torch.Tensor,
    margin: float,
    lambda_i: float,
    lambda_n: float,
    k: int,
) -> torch.Tensor:
    """Bidirectional ranking loss with the neighbourhood-preserving term (TBNN Eq. 2-3)."""
    other = labels[:, None] != labels[None, :]
    d = distance_matrix(ey, ex, eps=1e-4)  # d[i, j] = d(y_i, x_j), floored as the code's +1e-4
    pos = d.diagonal()[:, None]
    image_term = top_k_hinge(margin + pos - d, other, k)  # anchor y_i ranks the x
    text_term = top_k_hinge(margin + pos - d.T, other, k)  # anchor x_i ranks the y
    dyy = distance_matrix(ey, ey, eps=1e-4)
    farthest_neighbour = dyy.masked_fill(other, 0.0).max(dim=1, keepdim=True).values
    neighbour_term = top_k_hinge(margin + farthest_neighbour - dyy, other, k)
    return lambda_i * image_term + text_term + lambda_n * neighbour_term


def similarity_loss(net: TwoBranchNet, ex: torch.Tensor, ey: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Logistic loss: each matched pair against one mismatched pair of another class."""
    other = labels[:, None] != labels[None, :]
    partner = torch.rand(other.shape, device=ex.device).masked_fill(~other, -1.0).argmax(dim=1)
    has = other.any(dim=1)
    # one pass through the head, so its BatchNorm sees matched and mismatched pairs together
    logits = net.logit(torch.cat([ex, ex[has]]), torch.cat([ey, ey[partner[has]]]))
    target = torch.cat([torch.ones(len(ex), device=ex.device), torch.zeros(int(has.sum()), device=ex.device)])
    return bce(logits, target)
