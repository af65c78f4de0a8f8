"""The TN-BCL losses: triplet terms with batch mining, L_inter (Eq. 17) and L_quintuple (Eq. 28)."""

from __future__ import annotations

import torch

from ..networks import cosine_matrix


def triplet_term(
    sim: torch.Tensor, same: torch.Tensor, gamma0: float, gamma: float, mining: str, exclude_self: bool
) -> torch.Tensor:
    """Mean over anchors of (gamma0 - S(anchor, pos)) + max(0, S(anchor, neg) - gamma), Eq. 8/12.

    sim[i, j]: similarity of anchor i and candidate j; same[i, j]: same class.
    """
    pos_mask = same.clone()
    if exclude_self:
        pos_mask.fill_diagonal_(False)
    neg_mask = ~same
    big = torch.finfo(sim.dtype).max
    if mining in ("mean", "active"):  # every positive and every negative of the batch, averaged
        hinge = torch.relu(sim - gamma) * neg_mask
        # "active": the hinge averaged over the negatives that still violate the margin (the
        # "batch all" triplet loss of Hermans et al., 2017), so two classes that share one
        # embedding are not drowned by the many negatives already below gamma
        neg_n = (hinge > 0).sum(1) if mining == "active" else neg_mask.sum(1)
        pos = (sim * pos_mask).sum(1) / pos_mask.sum(1).clamp(min=1)
        neg_term = hinge.sum(1) / neg_n.clamp(min=1)
        valid = pos_mask.any(dim=1) & neg_mask.any(dim=1)
        return ((gamma0 - pos) + neg_term)[valid].mean() if valid.any() else sim.new_zeros(())
    if mining == "printed":  # most similar positive, least similar negative (Eq. 9-10 as printed)
        pos = sim.masked_fill(~pos_mask, -big).max(dim=1).values
        neg = sim.masked_fill(~neg_mask, big).min(dim=1).values
    else:  # hard: least similar positive, most similar negative
        pos = sim.masked_fill(~pos_mask, big).min(dim=1).values
        neg = sim.masked_fill(~neg_mask, -big).max(dim=1).values
    valid = pos_mask.any(dim=1) & neg_mask.any(dim=1)
    if not valid.any():
        return sim.new_zeros(())
    terms = (gamma0 - pos) + torch.relu(neg - gamma)
    return terms[valid].mean()


def contrastive_loss(
    emb: dict[str, torch.Tensor], labels: torch.Tensor, loss: str, mining: str, gamma0: float, gamma: float
) -> torch.Tensor:
    """L_inter (Eq. 17) or L_quintuple (Eq. 28), generalised to every pair of modalities."""
    same = labels[:, None] == labels[None, :]
    names = list(emb)
    inter = [
        triplet_term(cosine_matrix(emb[a], emb[b]), same, gamma0, gamma, mining, False)
        for a in names
        for b in names
        if a != b
    ]
    total = sum(inter) / (len(inter) / 2)  # two directions per pair, as in Eq. 17
    if loss == "quintuple":
        intra = [triplet_term(cosine_matrix(emb[a], emb[a]), same, gamma0, gamma, mining, True) for a in names]
        total = total + sum(intra) / (len(intra) / 2)
    return total
