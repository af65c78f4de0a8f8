"""CMAD's loss: pair alignment, a bidirectional hinge over non-neighbours, and structure preservation."""

from __future__ import annotations

import torch

from ..networks import distance_matrix


def knn_graph(x: torch.Tensor, k: int) -> torch.Tensor:
    """Boolean [n, n] matrix: j is among the k nearest rows of i (Euclidean, i itself excluded)."""
    flat = x.flatten(1)
    dist = distance_matrix(flat, flat).fill_diagonal_(float("inf"))
    nearest = dist.topk(min(k, len(flat) - 1), dim=1, largest=False).indices
    return torch.zeros_like(dist, dtype=torch.bool).scatter_(1, nearest, True)


def cmad_loss(
    ea: torch.Tensor,
    eb: torch.Tensor,
    graph_a: torch.Tensor,
    graph_b: torch.Tensor,
    margin: float,
    lambda_structure: float,
) -> torch.Tensor:
    """Pair alignment + bidirectional hinge over non-neighbour negatives + within-modality
    structure preservation (neighbours of the input k-NN graph stay close in the shared space)."""
    n = len(ea)
    d = distance_matrix(ea, eb, eps=1e-8)  # d[i, j] = d(a_i, b_j)
    align = (ea - eb).pow(2).sum(1).mean()
    neighbours = graph_a | graph_b
    negative = ~(neighbours | neighbours.T | torch.eye(n, dtype=torch.bool, device=ea.device))
    count = negative.sum(1).clamp(min=1)
    pos = d.diagonal()[:, None]
    hinge = ((torch.relu(margin + pos - d) * negative).sum(1) / count).mean() + (
        (torch.relu(margin + pos - d.T) * negative).sum(1) / count
    ).mean()
    # rows are unit vectors, so ||e_i - e_j||^2 = 2 - 2 e_i.e_j
    structure = sum(((2.0 - 2.0 * e @ e.T) * g).sum() / g.sum().clamp(min=1) for e, g in ((ea, graph_a), (eb, graph_b)))
    return align + hinge + lambda_structure * structure
