"""Network parts shared by the deep detectors: encoders per modality type, and distances.

Plain `nn.Module`s and tensor functions (tensors in, tensors out); training and scoring belong
to `TorchDetector` and the detectors. Per modality type: images and log-mel spectrograms -> a
small vision transformer over patches (or a small CNN); frozen text features and vectors -> an MLP.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def auto_patch(height: int, width: int, per_side: int = 7) -> int:
    """The smallest patch giving at most `per_side` patches along the shorter side."""
    return max(1, -(-min(height, width) // per_side))


def conv_stem(channels: int, width: int) -> nn.Sequential:
    """Two 3x3 convolutions (stride 1) before patchifying: the "early convolutions" of Xiao et
    al. (NeurIPS 2021), which make small vision transformers train well on little data."""
    return nn.Sequential(
        nn.Conv2d(channels, width, 3, padding=1),
        nn.BatchNorm2d(width),
        nn.ReLU(),
        nn.Conv2d(width, width, 3, padding=1),
        nn.BatchNorm2d(width),
        nn.ReLU(),
    )


class ViTEncoder(nn.Module):
    """Vision transformer: (optional conv stem,) patch embedding, learned positions, pre-norm
    blocks, mean pooling. Inputs [n, C, H, W]; H and W are zero-padded to a multiple of the patch.
    """

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        dim: int = 96,
        depth: int = 3,
        heads: int = 6,
        mlp_ratio: float = 4.0,
        patch: int | None = None,
        dropout: float = 0.0,
        stem: int = 0,
    ) -> None:
        super().__init__()
        channels, height, width = in_shape
        self.patch = patch or auto_patch(height, width)
        self.pad_h, self.pad_w = (-height) % self.patch, (-width) % self.patch
        tokens = ((height + self.pad_h) // self.patch) * ((width + self.pad_w) // self.patch)
        self.stem = conv_stem(channels, stem) if stem else nn.Identity()
        self.embed = nn.Conv2d(stem or channels, dim, kernel_size=self.patch, stride=self.patch)
        self.pos = nn.Parameter(torch.zeros(1, tokens, dim))
        nn.init.trunc_normal_(self.pos, std=0.02)
        layer = nn.TransformerEncoderLayer(
            dim, heads, int(dim * mlp_ratio), dropout=dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.blocks = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.out_dim = dim
        # NHWC convolutions: oneDNN runs the stem and the patch embedding about 10 % faster on CPU
        self.stem.to(memory_format=torch.channels_last)
        self.embed.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pad_h or self.pad_w:
            x = nn.functional.pad(x, (0, self.pad_w, 0, self.pad_h))
        x = x.contiguous(memory_format=torch.channels_last)
        tokens = self.embed(self.stem(x)).flatten(2).transpose(1, 2) + self.pos
        for layer in self.blocks.layers:
            tokens = pre_norm_block(layer, tokens)
        return self.norm(tokens).mean(dim=1)


def pre_norm_block(layer: nn.TransformerEncoderLayer, x: torch.Tensor) -> torch.Tensor:
    """One pre-norm transformer block with the layer's own weights, as
    `nn.TransformerEncoderLayer(norm_first=True)` computes it, but with the heads laid out
    batch-first for `scaled_dot_product_attention`: the stock layer's training path goes through
    a sequence-first layout and copies q, k and v (about a tenth of a TN-BCL step on CPU)."""
    attn = layer.self_attn
    b, t, d = x.shape
    heads = attn.num_heads
    qkv = nn.functional.linear(layer.norm1(x), attn.in_proj_weight, attn.in_proj_bias)
    q, k, v = qkv.view(b, t, 3, heads, d // heads).permute(2, 0, 3, 1, 4)
    drop = attn.dropout if layer.training else 0.0
    mixed = nn.functional.scaled_dot_product_attention(q, k, v, dropout_p=drop).transpose(1, 2).reshape(b, t, d)
    x = x + layer.dropout1(attn.out_proj(mixed))
    return x + layer.dropout2(layer.linear2(layer.dropout(layer.activation(layer.linear1(layer.norm2(x))))))


class MLPEncoder(nn.Module):
    """Two-layer perceptron for frozen features (text embeddings, vectors)."""

    def __init__(self, in_dim: int, out_dim: int = 256, hidden: int = 512, dropout: float = 0.0) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, out_dim))
        self.out_dim = out_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))


def is_spatial(kind: str, shape: tuple[int, ...]) -> bool:
    """Whether a modality is a [C, H, W] grid (image, spectrogram) rather than a feature vector."""
    return kind in ("image", "audio") and len(shape) == 3


def encoder_for(kind: str, shape: tuple[int, ...], dim: int, depth: int, heads: int, stem: int = 0) -> nn.Module:
    """The encoder of a modality kind: a ViT for 3-D inputs (image, spectrogram), else an MLP."""
    if is_spatial(kind, shape):
        return ViTEncoder(shape, dim=dim, depth=depth, heads=heads, stem=stem)
    return MLPEncoder(int(np.prod(shape)), out_dim=dim, hidden=max(2 * dim, 256))


def cosine_matrix(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Cosine similarity of every row of a with every row of b."""
    return nn.functional.normalize(a, dim=1) @ nn.functional.normalize(b, dim=1).T


class CNNEncoder(nn.Module):
    """Small CNN for pixels: conv 3x3 + BN + ReLU blocks, each halving the grid while it is at
    least 2x2, global average pooling, then a linear map to `out_dim`. Cheaper than the ViT on
    a CPU, which matters for baselines that train from raw pixels."""

    def __init__(
        self, in_shape: tuple[int, int, int], out_dim: int = 128, widths: tuple[int, ...] = (16, 32, 64)
    ) -> None:
        super().__init__()
        channels, height, width = in_shape
        side, layers = min(height, width), []
        for w in widths:
            layers += [nn.Conv2d(channels, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU()]
            if side >= 2:
                layers.append(nn.MaxPool2d(2))
                side //= 2
            channels = w
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(channels, out_dim)
        self.out_dim = out_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


IMAGE_ENCODERS = ("cnn", "vit")


def pair_encoder(kind: str, shape: tuple[int, ...], out_dim: int, image_encoder: str = "cnn") -> nn.Module:
    """One modality's encoder for the pair-embedding baselines: a CNN or the TN-BCL ViT (4 heads,
    3 blocks, conv stem) for [C, H, W] inputs, the shared MLP for feature vectors."""
    if not is_spatial(kind, shape):
        return MLPEncoder(int(np.prod(shape)), out_dim=out_dim, hidden=max(2 * out_dim, 256))
    if image_encoder == "vit":
        return encoder_for(kind, shape, out_dim, depth=3, heads=4, stem=32)
    return CNNEncoder(shape, out_dim)


def distance_matrix(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Euclidean distance of every row of a to every row of b; squared distances are floored at
    `eps` before the root so that gradients stay finite at zero distance."""
    sq = a.pow(2).sum(1, keepdim=True) + b.pow(2).sum(1)[None, :] - 2.0 * a @ b.T
    return sq.clamp(min=eps).sqrt()
