"""Reuse of a trained network across cells that train on the same data: train once, score many.

Cells of a sweep that differ only in anomaly type or ratio train on the same split (training
data is clean and split by seed alone), so a deep detector's network, trained on the training
split only, comes out the same in each of them. The harness names the cell's training with a key
(everything that can change the training: data, split, seed, detector, parameters, code,
threads, device) and opens a slot for it around `fit`; `TorchDetector.fit` then loads the trained
state instead of training when the slot holds one, and saves it when it trained. What a detector
learns from validation data (`_after_training`) is redone in every cell, and the random states
after training are restored, so a reused fit equals a fresh one (pinned by tests).

Reuse is opt-in (`TorchDetector.reusable_training`): a detector declares that its training reads
nothing but the training data and leaves no state outside the network and the loop's histories.
A detector that stops early on a validation loss trains on validation data too; it neither
reads nor writes a slot. Importing this module imports no torch.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Slot:
    """Where the trained state of one training key lives."""

    folder: Path
    key: str

    @property
    def path(self) -> Path:
        return self.folder / f"{self.key}.pt"

    def load(self) -> dict[str, Any] | None:
        """The stored trained state, or None (absent or unreadable: then the detector trains)."""
        import torch

        if not self.path.is_file():
            return None
        try:
            return torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as exc:  # a truncated file from a killed run: train again, overwrite it
            logger.warning("trained state %s unreadable (%s); training again", self.path.name, exc)
            return None

    def save(self, state: dict[str, Any]) -> None:
        """Write atomically: a run killed mid-write leaves no half file under the key's name. A
        failed write (full disk, no permission) is logged, never the cell's error."""
        import torch

        partial = self.path.with_suffix(f".{os.getpid()}.partial")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            torch.save(state, partial)
            os.replace(partial, self.path)
        except OSError as exc:
            logger.warning("could not keep the trained state %s (%s); later cells will train", self.path.name, exc)
            partial.unlink(missing_ok=True)


_CURRENT: ContextVar[list[Slot] | None] = ContextVar("mmadbench_trained_slot", default=None)


@contextlib.contextmanager
def use_slot(folder: str | Path | None, key: str | None) -> Iterator[None]:
    """Within the block, the first `fit` reuses (or stores) the trained state of `key` under
    `folder`; with either None, every fit trains and nothing is stored."""
    token = _CURRENT.set([Slot(Path(folder), key)] if folder and key else None)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def take_slot() -> Slot | None:
    """The slot the harness opened for this cell, handed out once: a detector that fits other
    networks inside its own fit (an ensemble, a two-stage model) must not give them its key."""
    held = _CURRENT.get()
    return held.pop() if held else None
