"""The CMAD network: one deep encoder per modality into a shared space, rows L2-normalised."""

from __future__ import annotations

import torch
from torch import nn

from ..networks import pair_encoder


class CMADNet(nn.Module):
    """One deep encoder per modality into the shared space, rows L2-normalised."""

    def __init__(
        self, kinds: dict[str, str], shapes: dict[str, tuple[int, ...]], embed_dim: int, image_encoder: str
    ) -> None:
        super().__init__()
        self.encoders = nn.ModuleDict({m: pair_encoder(kinds[m], shapes[m], embed_dim, image_encoder) for m in kinds})

    def embed(self, name: str, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(self.encoders[name](x), dim=1)
