"""The CAE one-class loss (Eq. 3) and the WLD-Reg within-layer diversity penalties."""

from __future__ import annotations

import torch

LOGDET_JITTER = 1e-3


def diversity_penalty(z: torch.Tensor, regularizer: str, gamma: float) -> torch.Tensor:
    """WLD-Reg penalty of one layer's units: z is [B, C, h, w] or [B, C]; unit n's activations
    over the batch form a_n, K_nm = exp(-gamma mean (a_n - a_m)^2); `regularizer` is "direct"
    (sum of K_nm, n != m), "det" (-det K) or "logdet" (-log det(K + jitter I))."""
    a = z.transpose(0, 1).flatten(1)  # [units, batch * positions]
    sq = (a * a).sum(dim=1)
    d2 = (sq[:, None] + sq[None, :] - 2.0 * (a @ a.T)).clamp_min(0.0) / a.shape[1]
    k = torch.exp(-gamma * d2)
    if regularizer == "direct":
        return k.sum() - k.diagonal().sum()
    if regularizer == "det":
        return -torch.linalg.det(k)
    eye = torch.eye(k.shape[0], dtype=k.dtype, device=k.device)
    return -torch.linalg.slogdet(k + LOGDET_JITTER * eye).logabsdet


def one_class_loss(
    latents: list[torch.Tensor], inputs: list[torch.Tensor], outputs: list[torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 3 summed over views: mean over the batch of ||phi||^2 + sum_v ||D(E(x_v)) - x_v||^2,
    and each sample's ||phi|| (phi: the views' latents concatenated)."""
    sq_latent = sum(z.flatten(1).pow(2).sum(dim=1) for z in latents)
    recon = sum((out - x).flatten(1).pow(2).sum(dim=1) for out, x in zip(outputs, inputs))
    return (sq_latent + recon).mean(), sq_latent.sqrt()
