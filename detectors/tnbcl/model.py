"""The TN-BCL network: per-modality encoders, one shared cross-modal residual network, a shared FC."""

from __future__ import annotations

import torch
from torch import nn

from ..networks import encoder_for


class TNBCLNet(nn.Module):
    """Per-modality encoders -> shared residual network (4 layers) + skip -> shared FC + activation."""

    def __init__(
        self,
        kinds: dict[str, str],
        shapes: dict[str, tuple[int, ...]],
        dim: int,
        depth: int,
        heads: int,
        embed_dim: int,
        activation: str,
        stem: int,
    ) -> None:
        super().__init__()
        self.activation = activation
        self.encoders = nn.ModuleDict({m: encoder_for(kinds[m], shapes[m], dim, depth, heads, stem) for m in kinds})
        layers: list[nn.Module] = []
        for i in range(4):
            layers += [nn.Linear(dim, dim)] + ([nn.ReLU()] if i < 3 else [])
        self.srn = nn.Sequential(*layers)
        self.fc = nn.Linear(dim, embed_dim)

    def features(self, name: str, x: torch.Tensor) -> torch.Tensor:
        """v1 = ReLU(encoder(x)) of one modality (Eq. 4): the top branch's features."""
        return torch.relu(self.encoders[name](x))

    def embed(self, h: torch.Tensor) -> torch.Tensor:
        """The bottom branch's embedding of v1 (Eq. 6-7, sigma = ReLU or Tanh)."""
        out = self.fc(h + self.srn(h))
        return torch.relu(out) if self.activation == "relu" else torch.tanh(out)
