"""TBNN: two-branch neural networks for image-text matching (Wang, Li, Huang, Lazebnik, TPAMI 2019).

Official code verified (lwwang/Two_branch_network). Embedding network: each modality's branch is
FC 2048 + BN + ReLU + dropout -> FC 512 -> L2 normalisation; Euclidean distance d. Loss (x: first
modality, y: second; K = 10 top violating negatives averaged, as `tf.nn.top_k` in the code):
    lambda_i [m + d(y_i, x_i) - d(y_i, x_j)]_+  +  [m + d(x_i, y_i) - d(x_i, y_j)]_+
    + lambda_n [m + max_{p in N(i)} d(y_i, y_p) - d(y_i, y_n)]_+
with m = 0.05, lambda_i = 1.5, lambda_n = 0.05, Adam 1e-4. Score = d(f(x_i), g(y_i)).
The similarity network (`variant="similarity"`): the same branches, their element-wise product
-> FC + BN + ReLU -> FC -> one logit, trained with logistic loss on matched pairs against
mismatched ones; score = -logit.

Choices where the paper is open or the setting differs:
- the paper embeds pre-extracted CNN features; here pixels pass through the small CNN (or the
  TN-BCL ViT, `image_encoder="vit"`) into `feat_dim` features, trained with the branches; frozen
  features (text, vectors) enter their branch directly.
- the code's positives are the paired instance and every other item of the batch is a negative;
  in class-structured data another sample of the same class is not a mismatch, so negatives are
  the samples of other classes (class labels are used, as for N(i)). N(i): the same class in the
  second modality, the anchor included (as in the code).
- batch 128 pairs (the code: 500 images with 2 sentences each); the code's dropout rate 0.5.
- similarity variant: one mismatched partner per pair, drawn from the other classes in the batch.
"""

from __future__ import annotations

from typing import ClassVar

from mmadbench.datasets.data import MultiModalData

from ._pairs import PairEmbeddingDetector
from .base import Capabilities, check_choice, check_ints, check_param, lazy_module_classes, register_detector


def _net_class() -> type:
    import numpy as np
    from torch import nn

    from ._nets import is_spatial, pair_encoder

    def branch(
        kind: str,
        shape: tuple[int, ...],
        feat_dim: int,
        hidden: int,
        embed_dim: int,
        dropout: float,
        image_encoder: str,
    ) -> nn.Sequential:
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

        def embed(self, name: str, x):
            return nn.functional.normalize(self.branches[name](x), dim=1, eps=1e-10)

        def logit(self, ex, ey):
            return self.head(ex * ey).squeeze(1)

    return TwoBranchNet


__getattr__ = lazy_module_classes(__name__, {"TwoBranchNet": _net_class})


def top_k_hinge(violation, negative, k: int):
    """Mean of each anchor's k largest hinge terms [violation]_+ over its negatives (zeros when
    it has fewer), averaged over anchors: the official code's top-K negative selection."""
    import torch

    hinge = torch.relu(violation) * negative
    return hinge.topk(min(k, hinge.shape[1]), dim=1).values.mean()


def ranking_loss(ex, ey, labels, margin: float, lambda_i: float, lambda_n: float, k: int):
    """Bidirectional ranking loss with the neighbourhood-preserving term (TBNN Eq. 2-3)."""
    from ._nets import distance_matrix

    other = labels[:, None] != labels[None, :]
    d = distance_matrix(ey, ex, eps=1e-4)  # d[i, j] = d(y_i, x_j), floored as the code's +1e-4
    pos = d.diagonal()[:, None]
    image_term = top_k_hinge(margin + pos - d, other, k)  # anchor y_i ranks the x
    text_term = top_k_hinge(margin + pos - d.T, other, k)  # anchor x_i ranks the y
    dyy = distance_matrix(ey, ey, eps=1e-4)
    farthest_neighbour = dyy.masked_fill(other, 0.0).max(dim=1, keepdim=True).values
    neighbour_term = top_k_hinge(margin + farthest_neighbour - dyy, other, k)
    return lambda_i * image_term + text_term + lambda_n * neighbour_term


def similarity_loss(net, ex, ey, labels):
    """Logistic loss: each matched pair against one mismatched pair of another class."""
    import torch
    from torch.nn.functional import binary_cross_entropy_with_logits as bce

    other = labels[:, None] != labels[None, :]
    partner = torch.rand(other.shape, device=ex.device).masked_fill(~other, -1.0).argmax(dim=1)
    has = other.any(dim=1)
    # one pass through the head, so its BatchNorm sees matched and mismatched pairs together
    logits = net.logit(torch.cat([ex, ex[has]]), torch.cat([ey, ey[partner[has]]]))
    target = torch.cat([torch.ones(len(ex), device=ex.device), torch.zeros(int(has.sum()), device=ex.device)])
    return bce(logits, target)


@register_detector
class TBNN(PairEmbeddingDetector):
    """TBNN (Wang et al., TPAMI 2019): two-branch embedding network with the bidirectional
    ranking and neighbourhood-preserving loss; score = embedding distance of the pair."""

    name = "tbnn"
    test_params = {"epochs": 2}  # few epochs for the conformance kit
    family = "cross-modal"
    capabilities = Capabilities(requires_labels=True, max_modalities=2)
    VARIANTS: ClassVar[tuple[str, ...]] = ("embedding", "similarity")

    def __init__(
        self,
        variant: str = "embedding",
        hidden: int = 2048,
        embed_dim: int = 512,
        feat_dim: int = 128,
        dropout: float = 0.5,
        margin: float = 0.05,
        lambda_i: float = 1.5,
        lambda_n: float = 0.05,
        top_k: int = 10,
        epochs: int = 10,
        batch_size: int = 128,
        lr: float = 1e-4,
        weight_decay: float = 0.0,
        image_encoder: str = "cnn",
        random_state: int | None = None,
        device: str = "cpu",
    ) -> None:
        self.variant = variant
        self.hidden = hidden
        self.embed_dim = embed_dim
        self.feat_dim = feat_dim
        self.dropout = dropout
        self.margin = margin
        self.lambda_i = lambda_i
        self.lambda_n = lambda_n
        self.top_k = top_k
        self._store_training_params(epochs, batch_size, lr, weight_decay, image_encoder, random_state, device)

    def _check_params(self) -> None:
        check_choice(self, "variant", self.VARIANTS)
        check_ints(self, ("hidden", "embed_dim", "feat_dim", "top_k"))
        check_param(0 <= self.dropout < 1, f"dropout must lie in [0, 1), got {self.dropout!r}")
        check_param(self.margin >= 0, f"margin must be >= 0, got {self.margin!r}")
        check_param(self.lambda_i >= 0, f"lambda_i must be >= 0, got {self.lambda_i!r}")
        check_param(self.lambda_n >= 0, f"lambda_n must be >= 0, got {self.lambda_n!r}")

    def _build(self, train: MultiModalData):
        shapes = {m: tuple(train[m].shape[1:]) for m in train.names}
        return __getattr__("TwoBranchNet")(
            dict(train.kinds),
            shapes,
            self.feat_dim,
            self.hidden,
            self.embed_dim,
            self.dropout,
            self.image_encoder,
            self.variant == "similarity",
        )

    def _batch_loss(self, x: dict, labels, idx):
        a, b = self.modalities_
        ex, ey, lab = self.net_.embed(a, x[a][idx]), self.net_.embed(b, x[b][idx]), labels[idx]
        if self.variant == "similarity":
            return similarity_loss(self.net_, ex, ey, lab)
        return ranking_loss(ex, ey, lab, self.margin, self.lambda_i, self.lambda_n, self.top_k)

    def _pair_scores(self, xa, xb):
        if self.variant == "similarity":
            a, b = self.modalities_
            return -self.net_.logit(self.net_.embed(a, xa), self.net_.embed(b, xb))
        return super()._pair_scores(xa, xb)
