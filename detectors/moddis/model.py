"""The MODDIS network: a common encoder on all views plus one encoder per view, no decoder."""

from __future__ import annotations

import torch
from torch import nn


def encoder(d: int, hidden: int, latent: int) -> nn.Sequential:
    """d -> hidden -> latent with sigmoids; weights truncated-normal(0.1), biases 0.1 (the code's)."""
    net = nn.Sequential(nn.Linear(d, hidden), nn.Sigmoid(), nn.Linear(hidden, latent), nn.Sigmoid())
    for layer in (net[0], net[2]):
        nn.init.trunc_normal_(layer.weight, std=0.1, a=-0.2, b=0.2)
        nn.init.constant_(layer.bias, 0.1)
    return net


class MODDISNet(nn.Module):
    """Common encoder on all views plus one encoder per view; h^v = g(x) + f_v(x^v)."""

    def __init__(self, dims: list[int], hidden: int, latent: int) -> None:
        super().__init__()
        self.common = encoder(sum(dims), hidden, latent)
        self.views = nn.ModuleList([encoder(d, hidden, latent) for d in dims])

    def forward(self, xs: list[torch.Tensor]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        g = self.common(torch.cat(xs, dim=1))
        offsets = [f(x) for f, x in zip(self.views, xs)]
        return [g + o for o in offsets], offsets
