"""CMAD as a Detector on the pair-embedding skeleton."""

from __future__ import annotations

from typing import Any

import torch

from mmadbench.datasets.data import MultiModalData

from ..base import Capabilities
from ..constraints import Integer, Real
from ..pair_embedding import PAIR_CONSTRAINTS, PairEmbeddingDetector
from .loss import cmad_loss, knn_graph
from .model import CMADNet


class CMAD(PairEmbeddingDetector):
    """CMAD: cross-modal anomaly detection, rebuilt from a secondary description.

    Li, Liu, Li, Du, Hu, IJCNN 2019. The paper could not be read; this follows the description in
    the baselines page (per-modality deep encoders into one shared space; pair alignment, a
    bidirectional hinge and within-modality neighbourhood preservation; score = the distance of
    the pair's embeddings). Every detail below is our choice (NOTES.md):
    loss per batch = mean ||f_a(a_i) - f_b(b_i)||^2 + the mean over negatives of
    [margin + d(a_i, b_i) - d(a_i, b_j)]_+ (and b -> a) + lambda_structure x the mean over the
    edges (i, j) of each modality's input k-NN graph of ||f_m(i) - f_m(j)||^2; negatives are the
    batch samples that are not graph neighbours in either modality; no class labels are used.

    Parameters
    ----------
    embed_dim : int
        Width of the shared space.
    margin : float
        Hinge margin.
    k : int
        Neighbours of the per-batch input k-NN graph.
    lambda_structure : float
        Weight of the structure-preservation term.
    epochs, batch_size, lr, weight_decay : int, int, float, float
        Adam training.
    image_encoder : {"cnn", "vit"}
        Pixel encoder.
    random_state : int or None
        Seed of weights and batch order.
    device : str
        "cpu", "cuda", "cuda:<i>" or "auto".
    """

    name = "cmad"
    test_params = {"epochs": 2}  # few epochs for the conformance kit
    family = "cross-modal"
    capabilities = Capabilities(max_modalities=2)
    rebuilt_from_description = True
    parameter_constraints = {
        **PAIR_CONSTRAINTS,
        "embed_dim": Integer(1),
        "margin": Real(0, inclusive=False),
        "k": Integer(1),
        "lambda_structure": Real(0),
    }

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
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.image_encoder = image_encoder
        self.random_state = random_state
        self.device = device

    def _network(self, train: MultiModalData) -> CMADNet:
        shapes = {m: tuple(train[m].shape[1:]) for m in train.names}
        return CMADNet(dict(train.kinds), shapes, self.embed_dim, self.image_encoder)

    def _pair_loss(self, x: dict[str, Any], labels: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        a, b = self.modalities_
        xa, xb = x[a][idx], x[b][idx]
        with torch.no_grad():
            graph_a, graph_b = knn_graph(xa, self.k), knn_graph(xb, self.k)
        return cmad_loss(
            self.net_.embed(a, xa), self.net_.embed(b, xb), graph_a, graph_b, self.margin, self.lambda_structure
        )
