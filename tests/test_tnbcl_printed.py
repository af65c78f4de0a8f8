"""TN-BCL's printed form, one equation at a time, on examples computed by hand (Peng et al. 2024):
the cosine S (Eq. 11), printed mining (Eq. 9-10: the most similar positive, the least similar
negative), the triplet term (Eq. 12), L_inter (Eq. 17), L_quintuple (Eq. 28) and the pair score
1 - cos. The last test shows why the printed form collapses: its loss reaches its lower bound on an
embedding that separates only two groups of classes, where a swapped pair scores like a normal one.

The batch: image embeddings v0 = (1, 0), v1 = (0, 1), v2 = (-1, 0); text embeddings t0 = (1, 0),
t1 = (1, 1)/sqrt(2), t2 = (0, -1); classes 0, 0, 1; gamma0 = 1, gamma = 0.4. With s = 1/sqrt(2):

    S(v_i, t_j) = [[1, s, 0], [0, s, -1], [-1, -s, 0]]

L_vt (anchors v): v0: pos max(1, s) = 1, neg 0          -> (1 - 1) + max(0, 0 - 0.4)  = 0
                  v1: pos max(0, s) = s, neg -1         -> 1 - s                      = 0.29289
                  v2: pos 0, neg min(-1, -s) = -1       -> 1 - 0                      = 1
                  mean                                                                = 0.43096
L_tv (anchors t): t0: pos 1, neg -1 -> 0; t1: pos s, neg -s -> 1 - s; t2: pos 0, neg -1 -> 1
                  mean                                                                = 0.43096
L_inter = L_vt + L_tv = 0.86193 (Eq. 17: each a mean over anchors).
Intra (the anchor itself is no positive): S(v, v): v0.v1 = 0, v0.v2 = -1, v1.v2 = 0;
    v0: pos 0, neg -1 -> 1; v1: pos 0, neg 0 -> 1; v2: no positive (skipped)  L_vv = 1
    S(t, t): t0.t1 = s, t0.t2 = 0, t1.t2 = -s;
    t0: pos s, neg 0 -> 1 - s; t1: pos s, neg -s -> 1 - s; t2 skipped         L_tt = 0.29289
L_quintuple = mean(L_vt + L_vv) + mean(L_tv + L_tt) = 0.86193 + 1 + 0.29289 = 2.15482 (Eq. 26-28).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mmadbench.detectors.networks import cosine_matrix
from mmadbench.detectors.tnbcl.detector import TNBCL
from mmadbench.detectors.tnbcl.loss import contrastive_loss, triplet_term

S = 1 / math.sqrt(2)
V = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]], dtype=torch.float64)
T = torch.tensor([[1.0, 0.0], [S, S], [0.0, -1.0]], dtype=torch.float64)
LABELS = torch.tensor([0, 0, 1])
SAME = LABELS[:, None] == LABELS[None, :]


def test_eq11_similarity_is_the_cosine():
    expected = torch.tensor([[1, S, 0], [0, S, -1], [-1, -S, 0]], dtype=torch.float64)
    assert torch.allclose(cosine_matrix(V, T), expected)
    assert torch.allclose(cosine_matrix(2 * V, 3 * T), expected)  # scale-free


def test_eq9_10_12_printed_mining_takes_the_easiest_positive_and_negative():
    vt = triplet_term(cosine_matrix(V, T), SAME, 1.0, 0.4, "printed", exclude_self=False)
    assert vt.item() == pytest.approx((0 + (1 - S) + 1) / 3)  # 0.43096
    tv = triplet_term(cosine_matrix(T, V), SAME, 1.0, 0.4, "printed", exclude_self=False)
    assert tv.item() == pytest.approx(0.43096, abs=1e-5)
    # a negative above gamma is hinged: S(v0, t2) raised to 0.9 adds (0.9 - 0.4) for anchor v0
    sim = cosine_matrix(V, T).clone()
    sim[0, 2] = 0.9
    assert triplet_term(sim, SAME, 1.0, 0.4, "printed", False).item() == pytest.approx((0.5 + (1 - S) + 1) / 3)


def test_eq17_inter_loss_is_the_sum_of_the_two_directional_means():
    loss = contrastive_loss({"image": V, "text": T}, LABELS, "inter", "printed", gamma0=1.0, gamma=0.4)
    assert loss.item() == pytest.approx(0.86193, abs=1e-5)


def test_eq28_quintuple_adds_the_intra_modal_terms_without_the_anchor_as_its_own_positive():
    loss = contrastive_loss({"image": V, "text": T}, LABELS, "quintuple", "printed", gamma0=1.0, gamma=0.4)
    assert loss.item() == pytest.approx(0.86193 + 1.0 + (1 - S), abs=1e-5)  # 2.15482


def test_the_printed_pair_score_is_one_minus_the_cosine():
    detector = TNBCL(similarity="pair")
    detector.modalities_, detector.partners_ = ["image", "text"], None  # the fitted state the score reads
    score = detector._dissimilarity({"image": V.numpy(), "text": T.numpy()})
    assert score == pytest.approx([0.0, 1 - S, 1.0])


def test_printed_mining_has_a_degenerate_minimum_that_hides_swaps():
    """Ten classes embedded as two antipodal points (classes 0-4 at (1, 0), 5-9 at (-1, 0)), in
    both modalities. Every anchor's most similar positive is identical (S = 1) and its least
    similar negative is opposite (S = -1), so every printed term is gamma0 - 1 = 0: the lower bound
    of Eq. 12, as S <= 1 and the hinge >= 0. Training has nothing left to push, yet an image of class
    0 paired with the text of class 1 scores 1 - cos = 0, exactly as a normal pair does: the swap is
    invisible. Mining over every negative (or the hardest) is not at its minimum there."""
    labels = torch.arange(10)
    points = torch.tensor([[1.0, 0.0] if c < 5 else [-1.0, 0.0] for c in range(10)], dtype=torch.float64)
    labels = labels.repeat_interleave(2)
    emb = points.repeat_interleave(2, dim=0)
    printed = contrastive_loss({"image": emb, "text": emb}, labels, "quintuple", "printed", gamma0=1.0, gamma=0.4)
    assert printed.item() == pytest.approx(0.0)  # the lower bound: a degenerate optimum
    for mining in ("mean", "active", "hard"):
        other = contrastive_loss({"image": emb, "text": emb}, labels, "quintuple", mining, gamma0=1.0, gamma=0.4)
        assert other.item() > 0.5, mining  # same-cluster negatives at S = 1 > gamma are still pushed
    detector = TNBCL(similarity="pair")
    detector.modalities_, detector.partners_ = ["image", "text"], None
    normal = detector._dissimilarity({"image": points[[0]].numpy(), "text": points[[0]].numpy()})
    swapped = detector._dissimilarity({"image": points[[0]].numpy(), "text": points[[1]].numpy()})
    assert normal == swapped == np.array([0.0])
