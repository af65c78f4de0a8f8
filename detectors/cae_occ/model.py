"""The CAE one-class model: a convolutional (or MLP) autoencoder per view, optionally shared."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class ViewSpec:
    """How one modality enters the model: a conv autoencoder (image-like) or an MLP one."""

    name: str
    conv: bool
    channels: int  # conv: input channels; MLP: input features
    lo: np.ndarray  # min-max scaling statistics from the training data
    span: np.ndarray


def _conv_encoder(channels: int, filters: Sequence[int], dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for f in filters:
        layers += [
            nn.Conv2d(channels, f, 3, padding=1),
            nn.MaxPool2d(2),
            nn.BatchNorm2d(f),
            nn.ReLU(),
            nn.Dropout(dropout),
        ]
        channels = f
    return nn.Sequential(*layers)


def _conv_decoder(channels: int, filters: Sequence[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = filters[-1]
    for f in reversed(filters):
        layers += [nn.Conv2d(width, f, 3, padding=1), nn.BatchNorm2d(f), nn.ReLU(), nn.Upsample(scale_factor=2)]
        width = f
    layers += [nn.Conv2d(width, channels, 3, padding=1), nn.Sigmoid()]
    return nn.Sequential(*layers)


def _mlp_stack(widths: Sequence[int], dropout: float, out_dim: int | None = None) -> nn.Sequential:
    """Linear -> batch norm -> ReLU -> dropout between consecutive widths; with `out_dim`, a
    final linear layer and sigmoid (the decoder's output)."""
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(a, b), nn.BatchNorm1d(b), nn.ReLU(), nn.Dropout(dropout)]
    if out_dim is not None:
        layers += [nn.Linear(widths[-1], out_dim), nn.Sigmoid()]
    return nn.Sequential(*layers)


def autoencoder_pair(spec: ViewSpec, filters: Sequence[int], dropout: float) -> tuple[nn.Module, nn.Module]:
    """(encoder, decoder) of one view: convolutional for images, an MLP for vectors."""
    if spec.conv:
        return _conv_encoder(spec.channels, filters, dropout), _conv_decoder(spec.channels, filters)
    widths = [spec.channels, *filters]
    return _mlp_stack(widths, dropout), _mlp_stack(list(reversed(widths[1:])), 0.0, spec.channels)


def share_groups(specs: Sequence[ViewSpec], shared: bool) -> dict[str, str]:
    """View name -> autoencoder key: conv views with equal channel counts share one key when
    `shared`; every other view has its own."""
    return {s.name: f"conv{s.channels}" if shared and s.conv else f"view{i}" for i, s in enumerate(specs)}


class CAENet(nn.Module):
    """Per-view (or shared) encoders and decoders; `route` maps a view to its autoencoder."""

    def __init__(self, specs: Sequence[ViewSpec], keys: dict[str, str], filters: Sequence[int], dropout: float) -> None:
        super().__init__()
        self.route = dict(keys)
        self.encoders, self.decoders = nn.ModuleDict(), nn.ModuleDict()
        for s in specs:
            key = keys[s.name]
            if key not in self.encoders:
                self.encoders[key], self.decoders[key] = autoencoder_pair(s, filters, dropout)

    def encode(self, view: str, x: torch.Tensor) -> torch.Tensor:
        return self.encoders[self.route[view]](x)

    def decode(self, view: str, z: torch.Tensor) -> torch.Tensor:
        return self.decoders[self.route[view]](z)
