"""CMML's training pieces: channel augmentation and the weighted regularised triplet loss."""

from __future__ import annotations

import torch

from ..networks import distance_matrix


def channel_augment(x: torch.Tensor) -> torch.Tensor:
    """`ChannelAdapGray` on a batch of standardised RGB images [n, 3, H, W]: per image, one
    channel copied to all three (3 of 4 draws), else greyscale or unchanged with equal odds."""
    n = len(x)
    draw = torch.randint(0, 4, (n,), device=x.device)
    single = x[torch.arange(n, device=x.device), draw.clamp(max=2)][:, None].expand_as(x)
    grey = (0.2989 * x[:, 0] + 0.5870 * x[:, 1] + 0.1140 * x[:, 2])[:, None].expand_as(x)
    to_grey = (torch.rand(n, device=x.device) < 0.5)[:, None, None, None]
    return torch.where((draw < 3)[:, None, None, None], single, torch.where(to_grey, grey, x))


def _masked_softmax(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Row-wise softmax over the entries where `mask` holds (rows without any give zeros)."""
    return values.masked_fill(~mask, float("-inf")).softmax(dim=1).nan_to_num(0.0)


def weighted_triplet(feats: torch.Tensor, labels: torch.Tensor, alpha: float, gamma: float) -> torch.Tensor:
    """Weighted regularised triplet with the enhanced squared difference (`TripletLoss_ADP`)."""
    dist = distance_matrix(feats, feats)
    same = labels[:, None] == labels[None, :]
    d_ap = (dist * _masked_softmax(alpha * dist, same)).sum(1)  # far positives weigh most
    d_an = (dist * _masked_softmax(-alpha * dist, ~same)).sum(1)  # near negatives weigh most
    diff = (gamma * (d_ap - d_an).pow(2)).clamp(max=88.0)
    y = torch.where(d_ap > d_an, -1.0, 1.0)
    return torch.nn.functional.softplus(-y * diff).mean()  # = SoftMarginLoss(diff, y)
