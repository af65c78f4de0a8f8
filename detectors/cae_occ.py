"""CAE multimodal one-class classifier (Laakom, Sohrab, Raitoharju, Iosifidis, Gabbouj, 2023).

Two convolutional autoencoders, trained on positive (normal) data only, reconstruct their view
while the joint latent code phi = concat(flat E(x), flat E(x')) is kept close to the origin:
    L = mean_i ( ||phi_i||^2 + ||D(E(x_i)) - x_i||^2 + ||D(E(x'_i)) - x'_i||^2 )      (Eq. 3)
The anomaly score is ||phi||; the method's own threshold tau is the 95th percentile of the
training norms (`threshold_`, recorded by the runner beside the harness's Youden threshold).
Paper settings (the defaults): encoder of three blocks conv 3x3 (64, 32, 16 filters) + batch
norm + max-pool + dropout, symmetric decoder, shared encoder and decoder weights for the two
views, Adam lr 1e-3, weight decay 1e-3, 4 epochs, batch 32, inputs resized to 32x32.

Variants: `views="left"` / `"right"` (the unimodal models of Table I: only the first / second
modality, the other is ignored), `input_size` 32/64/128 (Table III), and the WLD-Reg
within-layer diversity regularisers `regularizer="direct" | "det" | "logdet"` (Table IV).

Choices where the paper is open:
- encoder block = conv 3x3 (padding 1) -> max-pool 2 -> batch norm -> ReLU -> dropout. The paper
  names no activation (ReLU is ours) and lists conv, batch norm, max-pool, dropout; pooling
  right after the convolution is the same function while the batch-norm scale is positive
  (both are monotone per channel; only the batch statistics are taken after pooling), and
  normalising a quarter of the values made a training step ~20 % faster on CPU. Decoder block = conv 3x3 -> batch norm -> ReLU -> nearest
  up-sampling x2 (the mirror of conv -> ... -> max-pool), filters mirrored (16, 32, 64), then
  conv 3x3 to the input channels and a sigmoid. `dropout` (not given) = 0.1, in the encoder
  only (the decoder has none: it would only blur the reconstruction, and drawing the masks at
  full resolution was ~10 % of a training step). The latent is the last encoder block's
  output (16 x s/8 x s/8 per view; 256 values at s = 32).
- inputs are min-max scaled to [0, 1] with training statistics (matching the sigmoid decoder):
  one min and max per image/spectrogram modality (over all pixels, so the picture keeps its
  contrast), one per feature for vector/text modalities (constant features get range 1).
  Test values are not clipped, so out-of-range inputs reach the encoder as they are.
- image-like modalities ([n, C, H, W]: kind "image", and "audio" spectrograms, [n, F, T] gets a
  channel axis) are resized to `input_size` x `input_size` with bilinear `interpolate`, per
  batch; the decoder reconstructs the resized input. Vector/text modalities (and audio given
  as [n, d]) get an MLP autoencoder with widths = `filters` (encoder d -> 64 -> 32 -> 16, each
  linear -> batch norm -> ReLU -> dropout; decoder 16 -> 32 -> 64 without dropout, then linear
  to d and a sigmoid), whose 16-d code joins phi.
- Eq. 3 is used literally: squared norms summed over latent values and pixels (not means),
  averaged over the batch. Weight decay is Adam's L2 penalty (torch `weight_decay`).
- shared weights need views that are images of the same channel count (after resizing they
  have the same size); otherwise each view has its own autoencoder and an info line says the
  shared-weight option is off for this data. With more than two modalities, "both" means every
  modality (the paper's "easy extension"); views that can share, share.
- scoring and tau use eval mode (batch-norm running statistics, no dropout).
  `latent_norm_history_` is the mean ||phi|| of each epoch's training batches in training mode
  (batch statistics, dropout), i.e. the quantity Eq. 3 shrinks; `loss_history_` is Eq. 3.
- nothing pushes anomalies away from the origin, so the score's direction depends on the data
  and the seed: on digits (kind "all", 1:1, defaults) test AUC was 0.32 (seed 0) and 0.68
  (seed 1); uniform-noise attribute anomalies landed nearer the origin than normal pairs with
  seed 0 (attribute AUC 0.11) and farther with seed 1 (0.91). The paper's own ROC AUCs
  (0.33-0.81 over its four tasks) show a similar spread.

WLD-Reg (Laakom, Raitoharju, Iosifidis, Gabbouj, AAAI 2023). The paper body and the code
(firasl/AAAI-23-WLD-Reg) could not be read here: only the abstract ("pairwise similarity
between the outputs of the neurons ... to model the layer's overall diversity") was available.
So this follows the description in baselines.md, and every detail below is our choice:
- units = the channels of the bottleneck (the latent layer phi is read from; for the MLP
  autoencoder its 16 units), per view, each unit's activation over the batch (and, for conv
  layers, every spatial position) forming one vector a_n;
- similarity K_nm = exp(-reg_gamma * mean((a_n - a_m)^2)): a mean rather than a sum of squares,
  so the kernel width does not depend on batch size or resolution; `reg_gamma` default 1.0;
- penalties: direct = sum_{n != m} K_nm; det = -det(K); logdet = -log det(K + 1e-3 I) (the
  jitter keeps it finite when two units coincide, e.g. two dead ReLU channels);
- the penalty, summed over views, is added to Eq. 3 with weight `reg_weight` (default 0.01).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from mmadbench.datasets.data import MultiModalData

from .base import Capabilities, Detector, check_choice, check_ints, lazy_module_classes, register_detector

logger = logging.getLogger(__name__)

LOGDET_JITTER = 1e-3
SCORE_PIXELS = 512 * 32 * 32  # samples x pixels per scoring batch: 512 at 32x32, 32 at 128x128


@dataclass(frozen=True)
class ViewSpec:
    """How one modality enters the model: a conv autoencoder (image-like) or an MLP one."""

    name: str
    conv: bool
    channels: int  # conv: input channels; MLP: input features
    lo: np.ndarray  # min-max scaling statistics from the training data
    span: np.ndarray


def _image_like(x: np.ndarray, kind: str) -> bool:
    """Images and spectrograms ([n, C, H, W], or [n, F, T] audio) take the conv autoencoder."""
    return (kind == "image" and x.ndim == 4) or (kind == "audio" and x.ndim in (3, 4))


def _as_model_input(x: np.ndarray, conv: bool) -> np.ndarray:
    """[n, C, H, W] for conv views (a channel axis added to [n, F, T]); [n, d] otherwise."""
    if conv:
        return x[:, None] if x.ndim == 3 else x
    return x.reshape(len(x), -1)


def view_spec(name: str, x: np.ndarray, kind: str) -> ViewSpec:
    """Scaling statistics and autoencoder type of one modality from its training data."""
    conv = _image_like(x, kind)
    arr = _as_model_input(np.asarray(x, dtype=np.float64), conv)
    if conv:
        lo, hi = np.array(arr.min()), np.array(arr.max())
    else:
        lo, hi = arr.min(axis=0), arr.max(axis=0)
    span = np.where(hi - lo > 1e-12, hi - lo, 1.0)
    return ViewSpec(name, conv, int(arr.shape[1]), lo.astype(np.float32), span.astype(np.float32))


def _conv_encoder(channels: int, filters: Sequence[int], dropout: float):
    from torch import nn

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


def _conv_decoder(channels: int, filters: Sequence[int]):
    from torch import nn

    layers: list[nn.Module] = []
    width = filters[-1]
    for f in reversed(filters):
        layers += [nn.Conv2d(width, f, 3, padding=1), nn.BatchNorm2d(f), nn.ReLU(), nn.Upsample(scale_factor=2)]
        width = f
    layers += [nn.Conv2d(width, channels, 3, padding=1), nn.Sigmoid()]
    return nn.Sequential(*layers)


def _mlp_stack(widths: Sequence[int], dropout: float, out_dim: int | None = None):
    """Linear -> batch norm -> ReLU -> dropout between consecutive widths; with `out_dim`, a
    final linear layer and sigmoid (the decoder's output)."""
    from torch import nn

    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(a, b), nn.BatchNorm1d(b), nn.ReLU(), nn.Dropout(dropout)]
    if out_dim is not None:
        layers += [nn.Linear(widths[-1], out_dim), nn.Sigmoid()]
    return nn.Sequential(*layers)


def autoencoder_pair(spec: ViewSpec, filters: Sequence[int], dropout: float):
    """(encoder, decoder) of one view: convolutional for images, an MLP for vectors."""
    if spec.conv:
        return _conv_encoder(spec.channels, filters, dropout), _conv_decoder(spec.channels, filters)
    widths = [spec.channels, *filters]
    return _mlp_stack(widths, dropout), _mlp_stack(list(reversed(widths[1:])), 0.0, spec.channels)


def share_groups(specs: Sequence[ViewSpec], shared: bool) -> dict[str, str]:
    """View name -> autoencoder key: conv views with equal channel counts share one key when
    `shared`; every other view has its own."""
    return {s.name: f"conv{s.channels}" if shared and s.conv else f"view{i}" for i, s in enumerate(specs)}


def _net_class() -> type:
    from torch import nn

    class CAENet(nn.Module):
        """Per-view (or shared) encoders and decoders; `route` maps a view to its autoencoder."""

        def __init__(
            self, specs: Sequence[ViewSpec], keys: dict[str, str], filters: Sequence[int], dropout: float
        ) -> None:
            super().__init__()
            self.route = dict(keys)
            self.encoders, self.decoders = nn.ModuleDict(), nn.ModuleDict()
            for s in specs:
                key = keys[s.name]
                if key not in self.encoders:
                    self.encoders[key], self.decoders[key] = autoencoder_pair(s, filters, dropout)

        def encode(self, view: str, x):
            return self.encoders[self.route[view]](x)

        def decode(self, view: str, z):
            return self.decoders[self.route[view]](z)

    return CAENet


__getattr__ = lazy_module_classes(__name__, {"CAENet": _net_class})


def diversity_penalty(z, kind: str, gamma: float):
    """WLD-Reg penalty of one layer's units (see the module docstring): z is [B, C, h, w] or
    [B, C]; unit n's activations over the batch form a_n, K_nm = exp(-gamma mean (a_n - a_m)^2)."""
    import torch

    a = z.transpose(0, 1).flatten(1)  # [units, batch * positions]
    sq = (a * a).sum(dim=1)
    d2 = (sq[:, None] + sq[None, :] - 2.0 * (a @ a.T)).clamp_min(0.0) / a.shape[1]
    k = torch.exp(-gamma * d2)
    if kind == "direct":
        return k.sum() - k.diagonal().sum()
    if kind == "det":
        return -torch.linalg.det(k)
    eye = torch.eye(k.shape[0], dtype=k.dtype, device=k.device)
    return -torch.linalg.slogdet(k + LOGDET_JITTER * eye).logabsdet


@register_detector
class CAEOCC(Detector):
    """CAE multimodal one-class classifier (Laakom et al., 2023): score = norm of the joint
    latent code of autoencoders trained to reconstruct normal data with compact codes."""

    name = "cae_occ"
    test_params = {"epochs": 1, "input_size": 8, "filters": (8, 4, 2)}  # small and fast for the conformance kit
    family = "one-class"
    capabilities = Capabilities(requires_labels=False)
    VIEWS: ClassVar[tuple[str, ...]] = ("both", "left", "right")
    REGULARIZERS: ClassVar[tuple[str | None, ...]] = (None, "direct", "det", "logdet")

    def __init__(
        self,
        views: str = "both",
        input_size: int = 32,
        filters: tuple[int, ...] = (64, 32, 16),
        dropout: float = 0.1,
        epochs: int = 4,
        batch_size: int = 32,
        lr: float = 1e-3,
        weight_decay: float = 1e-3,
        shared_weights: bool = True,
        regularizer: str | None = None,
        reg_weight: float = 0.01,
        reg_gamma: float = 1.0,
        random_state: int | None = None,
        device: str = "cpu",
    ) -> None:
        self.views = views
        self.input_size = input_size
        self.filters = tuple(filters) if isinstance(filters, (list, tuple)) else filters
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.shared_weights = shared_weights
        self.regularizer = regularizer
        self.reg_weight = reg_weight
        self.reg_gamma = reg_gamma
        self.random_state = random_state
        self.device = device

    # ---- validation ------------------------------------------------------------------------
    def _validate(self, train: MultiModalData) -> None:
        """Clear errors for bad hyper-parameters or data, each naming the parameter."""
        check_choice(self, "views", self.VIEWS)
        filters = self.filters
        if not (isinstance(filters, tuple) and filters and all(isinstance(f, int) and f > 0 for f in filters)):
            raise ValueError(f"filters must be a non-empty sequence of positive integers, got {filters!r}")
        step = 2 ** len(filters)
        if not isinstance(self.input_size, int) or self.input_size < step or self.input_size % step:
            raise ValueError(
                f"input_size must be a positive multiple of {step} (2 ** len(filters)), got {self.input_size!r}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        check_ints(self, ("epochs",))
        check_ints(self, ("batch_size",), minimum=2)
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr!r}")
        for key in ("weight_decay", "reg_weight"):
            if not getattr(self, key) >= 0:
                raise ValueError(f"{key} must be >= 0, got {getattr(self, key)!r}")
        if not self.reg_gamma > 0:
            raise ValueError(f"reg_gamma must be positive, got {self.reg_gamma!r}")
        if not isinstance(self.shared_weights, bool):
            raise ValueError(f"shared_weights must be True or False, got {self.shared_weights!r}")
        check_choice(self, "regularizer", self.REGULARIZERS)
        self.check_data(train)
        if len(train) < 2:
            raise ValueError(f"cae_occ needs at least 2 training samples, got {len(train)}")

    def _used_views(self, data: MultiModalData) -> list[str]:
        names = list(data.names)
        return {"both": names, "left": names[:1], "right": names[1:2]}[self.views]

    # ---- fitting ---------------------------------------------------------------------------
    def fit(self, train: MultiModalData, val: MultiModalData | None = None) -> CAEOCC:
        """Train the autoencoders on the (clean) training data; tau = 95th percentile of its scores."""
        import torch

        from ._nets import resolve_torch_device, seed_everything

        self._validate(train)
        gen = seed_everything(self.random_state)
        self.device_ = resolve_torch_device(self.device)
        self.views_ = self._used_views(train)
        self.specs_ = {m: view_spec(m, train[m], train.kinds[m]) for m in self.views_}
        keys = share_groups(list(self.specs_.values()), self.shared_weights)
        self.shared_weights_ = len(set(keys.values())) < len(keys)
        if self.shared_weights and len(set(keys.values())) > 1:
            logger.info(
                "cae_occ: the shared-weight option is off for this data: views %s are not all images "
                "with the same channel count (autoencoder per view: %s)",
                self.views_,
                keys,
            )
        self.net_ = __getattr__("CAENet")(list(self.specs_.values()), keys, self.filters, self.dropout).to(
            self.device_, memory_format=torch.channels_last
        )  # NHWC: about 1.5x faster convolutions on CPU
        tensors = {m: self._tensor(train[m], m) for m in self.views_}
        self._train(
            tensors,
            len(train),
            gen,
            torch.optim.Adam(self.net_.parameters(), lr=self.lr, weight_decay=self.weight_decay),
        )
        self.n_epochs_ = self.epochs
        self.net_.eval()
        self.threshold_ = float(np.percentile(self.score(train), 95))
        return self

    def _train(self, tensors: dict, n: int, gen, optimiser) -> None:
        """Mini-batch Adam on Eq. 3 (+ the diversity penalty); per-epoch loss and mean ||phi||."""
        import torch

        self.loss_history_, self.latent_norm_history_ = [], []
        self.net_.train()
        for _ in range(self.epochs):
            order = torch.randperm(n, generator=gen).to(self.device_)
            total = torch.zeros(2, device=self.device_)  # summed loss and ||phi||, read once per epoch
            seen = 0
            for start in range(0, n, self.batch_size):
                idx = order[start : start + self.batch_size]
                if len(idx) < 2:  # batch norm needs two samples
                    continue
                loss, norm = self._batch_loss({m: t[idx] for m, t in tensors.items()})
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                total += torch.stack([loss.detach() * len(idx), norm.detach().sum()])
                seen += len(idx)
            mean_loss, mean_norm = (total / max(seen, 1)).tolist()
            self.loss_history_.append(mean_loss)
            self.latent_norm_history_.append(mean_norm)

    def _batch_loss(self, batch: dict):
        """Eq. 3 on one batch, plus reg_weight x the WLD-Reg penalty; also each sample's ||phi||."""
        sq_latent = 0.0
        recon = 0.0
        penalty = 0.0
        for m, x in batch.items():
            x = self._resize(x, m)
            z = self.net_.encode(m, x)
            sq_latent = sq_latent + z.flatten(1).pow(2).sum(dim=1)
            recon = recon + (self.net_.decode(m, z) - x).flatten(1).pow(2).sum(dim=1)
            if self.regularizer is not None:
                penalty = penalty + diversity_penalty(z, self.regularizer, float(self.reg_gamma))
        loss = (sq_latent + recon).mean() + float(self.reg_weight) * penalty
        return loss, sq_latent.sqrt()

    # ---- inputs ----------------------------------------------------------------------------
    def _tensor(self, x: np.ndarray, view: str):
        """Min-max scaled model input of a view, on the device (not yet resized)."""
        import torch

        spec = self.specs_[view]
        arr = (_as_model_input(np.asarray(x, dtype=np.float32), spec.conv) - spec.lo) / spec.span
        return torch.as_tensor(arr, dtype=torch.float32, device=self.device_)

    def _resize(self, x, view: str):
        """Bilinear resize of an image-like batch to input_size x input_size; vectors pass."""
        import torch
        from torch.nn import functional as F

        if not self.specs_[view].conv:
            return x
        if tuple(x.shape[-2:]) != (self.input_size, self.input_size):
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False)
        return x.contiguous(memory_format=torch.channels_last)

    # ---- scoring ---------------------------------------------------------------------------
    def latent(self, data: MultiModalData) -> np.ndarray:
        """The joint latent code phi (flattened latents of the used views, concatenated), eval mode."""
        import torch

        parts = []
        step = max(1, SCORE_PIXELS // self.input_size**2)
        with torch.inference_mode():
            for start in range(0, len(data), step):
                chunk = [
                    self.net_.encode(m, self._resize(self._tensor(data[m][start : start + step], m), m)).flatten(1)
                    for m in self.views_
                ]
                parts.append(torch.cat(chunk, dim=1).float().cpu().numpy())
        return np.concatenate(parts).astype(np.float64)

    def score(self, data: MultiModalData) -> np.ndarray:
        """||phi||: distance of the joint latent code from the origin (higher = more anomalous)."""
        missing = [m for m in self.views_ if m not in data.names]
        if missing:
            raise ValueError(f"cae_occ was fitted on modalities {self.views_}; data lacks {missing}")
        return np.linalg.norm(self.latent(data), axis=1)
