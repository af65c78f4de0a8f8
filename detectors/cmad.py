"""CMAD: cross-modal anomaly detection (Li, Liu, Li, Du, Hu, IJCNN 2019), reconstructed.

Training and scoring come from the pair-embedding skeleton in `_pairs.py` (shared with TBNN and
CMML); this module gives CMAD's network and loss.
"""

from __future__ import annotations

import logging

from mmadbench.datasets.data import MultiModalData

from ._pairs import PairEmbeddingDetector
from .base import Capabilities, check_ints, check_param, lazy_module_classes, register_detector

logger = logging.getLogger(__name__)


# ---- CMAD ------------------------------------------------------------------------------------


def _net_class() -> type:
    from torch import nn

    from ._nets import pair_encoder

    class CMADNet(nn.Module):
        """One deep encoder per modality into the shared space, rows L2-normalised."""

        def __init__(
            self, kinds: dict[str, str], shapes: dict[str, tuple[int, ...]], embed_dim: int, image_encoder: str
        ) -> None:
            super().__init__()
            self.encoders = nn.ModuleDict(
                {m: pair_encoder(kinds[m], shapes[m], embed_dim, image_encoder) for m in kinds}
            )

        def embed(self, name: str, x):
            return nn.functional.normalize(self.encoders[name](x), dim=1)

    return CMADNet


__getattr__ = lazy_module_classes(__name__, {"CMADNet": _net_class})


def knn_graph(x, k: int):
    """Boolean [n, n] matrix: j is among the k nearest rows of i (Euclidean, i itself excluded)."""
    import torch

    from ._nets import distance_matrix

    flat = x.flatten(1)
    dist = distance_matrix(flat, flat).fill_diagonal_(float("inf"))
    nearest = dist.topk(min(k, len(flat) - 1), dim=1, largest=False).indices
    return torch.zeros_like(dist, dtype=torch.bool).scatter_(1, nearest, True)


def cmad_loss(ea, eb, graph_a, graph_b, margin: float, lambda_structure: float):
    """Pair alignment + bidirectional hinge over non-neighbour negatives + within-modality
    structure preservation (neighbours of the input k-NN graph stay close in the shared space)."""
    import torch

    from ._nets import distance_matrix

    n = len(ea)
    d = distance_matrix(ea, eb, eps=1e-8)  # d[i, j] = d(a_i, b_j)
    align = (ea - eb).pow(2).sum(1).mean()
    neighbours = graph_a | graph_b
    negative = ~(neighbours | neighbours.T | torch.eye(n, dtype=torch.bool, device=ea.device))
    count = negative.sum(1).clamp(min=1)
    pos = d.diagonal()[:, None]
    hinge = ((torch.relu(margin + pos - d) * negative).sum(1) / count).mean() + (
        (torch.relu(margin + pos - d.T) * negative).sum(1) / count
    ).mean()
    # rows are unit vectors, so ||e_i - e_j||^2 = 2 - 2 e_i.e_j
    structure = sum(((2.0 - 2.0 * e @ e.T) * g).sum() / g.sum().clamp(min=1) for e, g in ((ea, graph_a), (eb, graph_b)))
    return align + hinge + lambda_structure * structure


@register_detector
class CMAD(PairEmbeddingDetector):
    """CMAD (Li et al., IJCNN 2019), a reconstruction: the paper could not be read, so this follows
    the secondary description (per-modality deep encoders into one shared space; pair alignment,
    a bidirectional hinge and within-modality neighbourhood preservation; score = pair distance).

    Choices made (each a constructor parameter where it is a number):
    - encoders: the small CNN (or the TN-BCL ViT, `image_encoder="vit"`) for pixels, the shared
      MLP for feature vectors, each straight into the `embed_dim`-d shared space, L2-normalised;
      Euclidean distance d in that space.
    - loss per batch = mean ||f_a(a_i) - f_b(b_i)||^2
      + mean over negatives of [margin + d(a_i, b_i) - d(a_i, b_j)]_+ (and b -> a)
      + lambda_structure * mean over k-NN edges (i, j) of ||f_m(i) - f_m(j)||^2, per modality.
    - the k-NN graph is built per batch in the standardised input space of each modality, so no
      class labels are used; negatives are every other sample of the batch that is not a graph
      neighbour in either modality (a neighbour is likely the same concept, not a mismatch).
    - negatives are averaged, not mined (hardest negatives are near-duplicates when the text is
      a handful of caption templates per class).
    - Adam, lr 1e-3, batch 256, margin 0.5, k 5, lambda_structure 0.1 (none given).
    """

    name = "cmad"
    test_params = {"epochs": 2}  # few epochs for the conformance kit
    family = "cross-modal"
    capabilities = Capabilities(max_modalities=2)
    reconstruction = True

    def __init__(
        self,
        embed_dim: int = 128,
        margin: float = 0.5,
        k: int = 5,
        lambda_structure: float = 0.1,
        epochs: int = 10,
        batch_size: int = 256,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        image_encoder: str = "cnn",
        random_state: int | None = None,
        device: str = "cpu",
    ) -> None:
        self.embed_dim = embed_dim
        self.margin = margin
        self.k = k
        self.lambda_structure = lambda_structure
        self._store_training_params(epochs, batch_size, lr, weight_decay, image_encoder, random_state, device)

    def _check_params(self) -> None:
        check_ints(self, ("embed_dim", "k"))
        check_param(self.margin > 0, f"margin must be positive, got {self.margin!r}")
        check_param(self.lambda_structure >= 0, f"lambda_structure must be >= 0, got {self.lambda_structure!r}")

    def _build(self, train: MultiModalData):
        shapes = {m: tuple(train[m].shape[1:]) for m in train.names}
        return __getattr__("CMADNet")(dict(train.kinds), shapes, self.embed_dim, self.image_encoder)

    def _batch_loss(self, x: dict, labels, idx):
        import torch

        a, b = self.modalities_
        xa, xb = x[a][idx], x[b][idx]
        with torch.no_grad():
            graph_a, graph_b = knn_graph(xa, self.k), knn_graph(xb, self.k)
        return cmad_loss(
            self.net_.embed(a, xa), self.net_.embed(b, xb), graph_a, graph_b, self.margin, self.lambda_structure
        )
