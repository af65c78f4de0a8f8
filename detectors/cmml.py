"""CMML: cross-modality metric learning after Ye, Ruan, Du, Shou, ICCV 2021 ("Channel Augmented
Joint Learning", official code verified: mangye16/Cross-Modal-Re-ID-baseline, ICCV21_CAJ).

Network as in the code: a modality-specific first stage, a shared stage over the concatenated
mixed-modality batch giving `feat`, a BN neck (bias frozen) and a bias-free identity classifier.
Loss = identity cross-entropy + the weighted regularised triplet over the mixed batch: softmax
weights (scaled by `alpha`) over each anchor's positives and negatives give a weighted hardest
positive distance d_ap and negative distance d_an; the enhanced squared difference is
    log(1 + exp(-y * gamma * (d_ap - d_an)^2)),  y = -1 if d_ap > d_an else +1,
the exponent clamped at 88 (the code's `TripletLoss_ADP`, square = 1). Channel augmentation
(`ChannelAdapGray`: per image, one of R, G, B copied into all three channels in 3 of 4 draws,
else greyscale or unchanged with equal odds) adds an augmented copy of every RGB image modality
to the batch; it never applies to grey images or other kinds. For detection the identities are the semantic classes and the
score is the cross-modal distance of the L2-normalised BN-neck features (what the code matches).

Choices where the setting differs from re-identification:
- the ResNet-50 becomes the small CNN (or the TN-BCL ViT, `image_encoder="vit"`) for pixels and
  the shared MLP for feature vectors, each into `feat_dim`, then the shared stage
  FC + BN + ReLU + FC to `embed_dim`; trained from scratch.
- Adam lr 1e-3 (the code: SGD 0.1 with warm-up on an ImageNet-pretrained ResNet; its note gives
  3.5e-4 for Adam), weight decay 5e-4 as in the code; random batches instead of the
  identity sampler (a batch of 128 holds every class of the sets here many times over).
- no random erasing and no KL term (the code's default KL weight is 0).
"""

from __future__ import annotations

from mmadbench.datasets.data import MultiModalData

from ._pairs import PairEmbeddingDetector
from .base import Capabilities, check_ints, check_param, lazy_module_classes, register_detector


def _net_class() -> type:
    import torch
    from torch import nn

    from ._nets import pair_encoder

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
            self.encoders = nn.ModuleDict(
                {m: pair_encoder(kinds[m], shapes[m], feat_dim, image_encoder) for m in kinds}
            )
            self.shared = nn.Sequential(
                nn.Linear(feat_dim, embed_dim), nn.BatchNorm1d(embed_dim), nn.ReLU(), nn.Linear(embed_dim, embed_dim)
            )
            self.neck = nn.BatchNorm1d(embed_dim)
            self.neck.bias.requires_grad_(False)
            self.classifier = nn.Linear(embed_dim, n_classes, bias=False)

        def feat(self, parts: list[tuple[str, object]]):
            """`feat` of a mixed-modality batch: encoders per part, one shared pass over all."""
            return self.shared(torch.cat([self.encoders[m](x) for m, x in parts]))

        def embed(self, name: str, x):
            return nn.functional.normalize(self.neck(self.feat([(name, x)])), dim=1)

    return CMMLNet


__getattr__ = lazy_module_classes(__name__, {"CMMLNet": _net_class})


def channel_augment(x):
    """`ChannelAdapGray` on a batch of standardised RGB images [n, 3, H, W]: per image, one
    channel copied to all three (3 of 4 draws), else greyscale or unchanged with equal odds."""
    import torch

    n = len(x)
    draw = torch.randint(0, 4, (n,), device=x.device)
    single = x[torch.arange(n, device=x.device), draw.clamp(max=2)][:, None].expand_as(x)
    grey = (0.2989 * x[:, 0] + 0.5870 * x[:, 1] + 0.1140 * x[:, 2])[:, None].expand_as(x)
    to_grey = (torch.rand(n, device=x.device) < 0.5)[:, None, None, None]
    return torch.where((draw < 3)[:, None, None, None], single, torch.where(to_grey, grey, x))


def _masked_softmax(values, mask):
    """Row-wise softmax over the entries where `mask` holds (rows without any give zeros)."""
    return values.masked_fill(~mask, float("-inf")).softmax(dim=1).nan_to_num(0.0)


def weighted_triplet(feats, labels, alpha: float, gamma: float):
    """Weighted regularised triplet with the enhanced squared difference (`TripletLoss_ADP`)."""
    import torch

    from ._nets import distance_matrix

    dist = distance_matrix(feats, feats)
    same = labels[:, None] == labels[None, :]
    d_ap = (dist * _masked_softmax(alpha * dist, same)).sum(1)  # far positives weigh most
    d_an = (dist * _masked_softmax(-alpha * dist, ~same)).sum(1)  # near negatives weigh most
    diff = (gamma * (d_ap - d_an).pow(2)).clamp(max=88.0)
    y = torch.where(d_ap > d_an, -1.0, 1.0)
    return torch.nn.functional.softplus(-y * diff).mean()  # = SoftMarginLoss(diff, y)


@register_detector
class CMML(PairEmbeddingDetector):
    """CMML (Ye et al., ICCV 2021): identity loss + weighted hardest-pair triplet with the enhanced
    squared difference over mixed-modality batches; score = cross-modal embedding distance."""

    name = "cmml"
    test_params = {"epochs": 2}  # few epochs for the conformance kit
    family = "cross-modal"
    capabilities = Capabilities(requires_labels=True, max_modalities=2)

    def __init__(
        self,
        feat_dim: int = 128,
        embed_dim: int = 128,
        alpha: float = 1.0,
        gamma: float = 1.0,
        channel_aug: bool = True,
        epochs: int = 10,
        batch_size: int = 128,
        lr: float = 1e-3,
        weight_decay: float = 5e-4,
        image_encoder: str = "cnn",
        random_state: int | None = None,
        device: str = "cpu",
    ) -> None:
        self.feat_dim = feat_dim
        self.embed_dim = embed_dim
        self.alpha = alpha
        self.gamma = gamma
        self.channel_aug = channel_aug
        self._store_training_params(epochs, batch_size, lr, weight_decay, image_encoder, random_state, device)

    def _check_params(self) -> None:
        check_ints(self, ("feat_dim", "embed_dim"))
        check_param(self.alpha > 0, f"alpha must be positive, got {self.alpha!r}")
        check_param(self.gamma > 0, f"gamma must be positive, got {self.gamma!r}")

    def _build(self, train: MultiModalData):
        shapes = {m: tuple(train[m].shape[1:]) for m in train.names}
        self.rgb_ = [m for m in train.names if train.kinds[m] == "image" and shapes[m][0] == 3]
        return __getattr__("CMMLNet")(
            dict(train.kinds), shapes, self.feat_dim, self.embed_dim, len(self.classes_), self.image_encoder
        )

    def _batch_loss(self, x: dict, labels, idx):
        import torch

        parts = [(m, x[m][idx]) for m in self.modalities_]
        if self.channel_aug:
            parts += [(m, channel_augment(x[m][idx])) for m in self.rgb_]
        lab = labels[idx].repeat(len(parts))
        feats = self.net_.feat(parts)
        identity = torch.nn.functional.cross_entropy(self.net_.classifier(self.net_.neck(feats)), lab)
        return identity + weighted_triplet(feats, lab, self.alpha, self.gamma)
