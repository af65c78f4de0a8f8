"""The CMML network: modality-specific encoders, a shared stage, a BN neck and an identity classifier."""

from __future__ import annotations

import torch
from torch import nn

from ..networks import pair_encoder


class CMMLNet(nn.Module):
    """Modality-specific encoders -> shared stage (feat) -> BN neck -> identity classifier."""

    def __init__(
        self,
        kinds: dict[str, str],
        shapes: dict[str, tuple[int, ...]],
        feat_dim: int,
        embed_dim: int,
        n_classes: int,
        image_encoder: str,
    ) -> None:
        super().__init__()
        self.encoders = nn.ModuleDict({m: pair_encoder(kinds[m], shapes[m], feat_dim, image_encoder) for m in kinds})
        self.shared = nn.Sequential(
            nn.Linear(feat_dim, embed_dim), nn.BatchNorm1d(embed_dim), nn.ReLU(), nn.Linear(embed_dim, embed_dim)
        )
        self.neck = nn.BatchNorm1d(embed_dim)
        self.neck.bias.requires_grad_(False)
        self.classifier = nn.Linear(embed_dim, n_classes, bias=False)

    def feat(self, parts: list[tuple[str, torch.Tensor]]) -> torch.Tensor:
        """`feat` of a mixed-modality batch: encoders per part, one shared pass over all."""
        return self.shared(torch.cat([self.encoders[m](x) for m, x in parts]))

    def embed(self, name: str, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(self.neck(self.feat([(name, x)])), dim=1)
