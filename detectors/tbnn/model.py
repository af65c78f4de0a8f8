"""The two-branch network: a branch per modality into a shared space, optionally a similarity head."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..networks import is_spatial, pair_encoder


def branch(
    kind: str,
    shape: tuple[int, ...],
    feat_dim: int,
    hidden: int,
    embed_dim: int,
    dropout: float,
    image_encoder: str,
) -> nn.Sequential:
    """FC `hidden` + BN + ReLU + dropout -> FC `embed_dim`, after a pixel encoder for images."""
    spatial = is_spatial(kind, shape)
    features = pair_encoder(kind, shape, feat_dim, image_encoder) if spatial else nn.Flatten()
    width = feat_dim if spatial else int(np.prod(shape))
    return nn.Sequential(
        features,
        nn.Linear(width, hidden),
        nn.BatchNorm1d(hidden),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(hidden, embed_dim),
    )


class TwoBranchNet(nn.Module):
    """A branch per modality into the shared space; optionally the similarity head."""

    def __init__(
        self,
        kinds: dict[str, str],
        shapes: dict[str, tuple[int, ...]],
        feat_dim: int,
        hidden: int,
        embed_dim: int,
        dropout: float,
        image_encoder: str,
        similarity: bool,
    ) -> None:
        super().__init__()
        self.branches = nn.ModuleDict(
            {m: branch(kinds[m], shapes[m], feat_dim, hidden, embed_dim, dropout, image_encoder) for m in kinds}
        )
        self.head = (
            nn.Sequential(
                nn.Linear(embed_dim, embed_dim), nn.BatchNorm1d(embed_dim), nn.ReLU(), nn.Linear(embed_dim, 1)
            )
            if similarity
            else None
        )

    def embed(self, name: str, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(self.branches[name](x), dim=1, eps=1e-10)

    def logit(self, ex: torch.Tensor, ey: torch.Tensor) -> torch.Tensor:
        return self.head(ex * ey).squeeze(1)
