"""TorchDetector: the base of every trained deep detector, owning what they all do the same way.

The base owns device choice, seeding, the one training loop (seeded mini-batches, optimiser and
learning-rate schedule, loss history, optional early stopping on a validation loss, a progress
line per epoch at DEBUG level), `n_epochs_`, batched inference on the device, bf16 autocast on
CUDA when the detector has `amp=True`, and pickling (a detector fitted on a GPU loads on a
CPU-only machine), and reuse of a training the harness kept for cells with the same training
data (`trained_cache`; `training_reused_` says whether it happened). A deep detector supplies its
network (`_build`), its training inputs, its batch loss and its score.

Parameters the loop reads when the detector declares them in its constructor: `epochs`,
`batch_size`, `lr`, `weight_decay`, `random_state`, `device`, `amp` and `patience` (epochs
without a lower validation loss before training stops; None = never stop early).

Importing this module imports no torch: detector discovery stays light.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from mmadbench.datasets.data import MultiModalData

from .base import Detector
from .trained_cache import take_slot

if TYPE_CHECKING:  # pragma: no cover
    import torch

logger = logging.getLogger(__name__)

# what the training loop records; a reused training brings them back with the weights
TRAINING_HISTORIES = (
    "loss_history_",
    "val_loss_history_",
    "batch_loss_history_",
    "metric_history_",
    "epoch_seconds_",
    "epoch_samples_",
)


def resolve_torch_device(device: str) -> torch.device:
    """The harness's device rule ('auto' -> CUDA when available; 'cuda' without a GPU is an
    error) as a torch device, so detectors used outside the runner resolve it the same way."""
    import torch

    from mmadbench.device import resolve_device

    return torch.device(resolve_device(device))


def input_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and spread for standardising inputs: per channel for images and spectrograms
    ([n, C, H, W]), per feature otherwise. Frozen encoder outputs and raw pixels are far from unit
    scale, and contrastive losses do not take off from nearly constant features."""
    axes = (0, 2, 3) if x.ndim == 4 else (0,)
    mean = x.mean(axis=axes, keepdims=True)[0]
    std = x.std(axis=axes, keepdims=True)[0] + 1e-6
    return mean.astype(np.float32), std.astype(np.float32)


def standardised(x: np.ndarray, stats: tuple[np.ndarray, np.ndarray], device: torch.device) -> torch.Tensor:
    """`x` standardised with training statistics from `input_stats`, as float32 on `device`."""
    import torch

    mean, std = stats
    return torch.as_tensor((x - mean) / std, dtype=torch.float32, device=device)


def _map_tensors(obj: Any, fn: Callable[[Any], Any]) -> Any:
    """`fn` applied to every torch tensor and module in obj (through dicts, lists and tuples)."""
    import torch

    if isinstance(obj, (torch.Tensor, torch.nn.Module)):
        return fn(obj)
    if isinstance(obj, dict):
        return {k: _map_tensors(v, fn) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_map_tensors(v, fn) for v in obj)
    return obj


def _on_cpu(obj: Any) -> Any:
    """A CPU copy of a tensor or module that lives elsewhere; CPU objects are returned as they are."""
    import copy

    import torch

    if isinstance(obj, torch.Tensor):
        return obj if obj.device.type == "cpu" else obj.cpu()
    devices = {t.device.type for t in [*obj.parameters(), *obj.buffers()]}
    return obj if devices <= {"cpu"} else copy.deepcopy(obj).cpu()


class TorchDetector(Detector):
    """Base for trained deep detectors (see the module docstring for what it owns).

    A subclass implements `_build` (returns the network; also learns input statistics),
    `_training_inputs` (tensors on `self.device_`), `_batch_loss` and `score`; it may override
    `_optimiser`, `_lr_factor`, `_epoch_batches`, `_n_epochs`, `_converged`,
    `_validation_loss` and `_after_training`.
    """

    score_batch: ClassVar[int] = 1024  # samples per inference pass
    # the training reads only the training data and leaves no state outside the network and the
    # loop's histories, so the harness may reuse it across cells with the same training data
    reusable_training: ClassVar[bool] = False

    # ---- what a deep detector provides ------------------------------------------------------
    def _build(self, train: MultiModalData) -> torch.nn.Module:
        """The network, built after seeding (so its initial weights follow `random_state`)."""
        raise NotImplementedError

    def _training_inputs(self, data: MultiModalData) -> Any:
        """The inputs `_batch_loss` indexes, on `self.device_` (also used for validation data)."""
        raise NotImplementedError

    def _batch_loss(self, inputs: Any, idx: torch.Tensor, epoch: int, gen: torch.Generator) -> Any:
        """The training loss of the samples `idx` of `inputs` in epoch `epoch` (0-based); or a
        pair (loss, {name: one value per sample}) whose epoch means go to `metric_history_`."""
        raise NotImplementedError

    def _after_training(self, train: MultiModalData, val: MultiModalData | None) -> None:
        """Fitted state that needs the trained network (thresholds, reference sets); eval mode."""

    # ---- optional hooks -----------------------------------------------------------------------
    def _optimiser(self) -> torch.optim.Optimizer:
        """Adam with the detector's `lr` and `weight_decay`."""
        import torch

        return torch.optim.Adam(self.net_.parameters(), lr=self.lr, weight_decay=self.weight_decay)

    def _lr_factor(self, step: int, steps_per_epoch: int) -> float | None:
        """Learning-rate multiplier at optimiser step `step`; None (the default): constant rate."""
        return None

    def _epoch_batches(self, n: int, epoch: int, gen: torch.Generator) -> Iterable[torch.Tensor]:
        """The index batches of one epoch: a seeded permutation of the n samples in `batch_size`s."""
        import torch

        return torch.randperm(n, generator=gen).to(self.device_).split(self.batch_size)

    def _steps_per_epoch(self, n: int) -> int:
        return -(-n // self.batch_size)

    def _n_epochs(self) -> int:
        return int(self.epochs)

    def _epochs_done(self, n_train: int) -> float:
        """Passes over the training data the loop made (for time per epoch)."""
        return float(len(self.loss_history_))

    def _converged(self) -> bool:
        """Stop training now (after an epoch), judged from `loss_history_`; default never."""
        return False

    def _validation_loss(self, inputs: Any, n: int, gen: torch.Generator) -> float:
        """Mean loss over the n validation samples in eval mode (early stopping with `patience`)."""
        import torch

        total = 0.0
        with torch.no_grad():
            for idx in torch.arange(n, device=self.device_).split(self.batch_size):
                if len(idx) >= 2:
                    loss = self._batch_loss(inputs, idx, self._n_epochs(), gen)
                    total += float(loss[0] if isinstance(loss, tuple) else loss) * len(idx)
        return total / max(n, 1)

    # ---- what the base does ------------------------------------------------------------------
    def _seed(self) -> torch.Generator:
        """Seed torch's global generator (weights, dropout) and return one for data order."""
        import torch

        seed = 0 if self.random_state is None else int(self.random_state)
        torch.manual_seed(seed)
        gen = torch.Generator()
        gen.manual_seed(seed)
        return gen

    def _autocast(self) -> contextlib.AbstractContextManager:
        """bf16 autocast on CUDA when the detector has `amp=True`; otherwise nothing."""
        import torch

        if getattr(self, "amp", False) and self.device_.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def fit(self, train: MultiModalData, val: MultiModalData | None = None) -> TorchDetector:
        """Seed, build the network on the device, train it with the one loop (or load the
        training the harness kept for this cell's training key: see `trained_cache`), then let
        the detector learn what needs the trained network. Validation data is used only for
        early stopping (when `patience` is set) and by detectors that declare what they read of it."""
        gen = self._seed()
        self.device_ = resolve_torch_device(self.device)
        self.net_ = self._build(train).to(self.device_)
        inputs = self._training_inputs(train)
        use_val = getattr(self, "patience", None) is not None and val is not None and len(val) >= 2
        val_inputs = (self._training_inputs(val), len(val)) if use_val else None
        slot = take_slot() if self.reusable_training and not use_val else None  # early stopping reads val
        state = slot.load() if slot is not None else None
        self.training_reused_ = state is not None and self._reuse_training(state, gen)
        if state is not None and not self.training_reused_:  # start afresh, exactly as a fresh fit
            gen = self._seed()
            self.net_ = self._build(train).to(self.device_)
            inputs = self._training_inputs(train)
        if not self.training_reused_:
            self._train(inputs, len(train), gen, val_inputs)
            if slot is not None:
                slot.save(self._training_state(gen))
        self.n_epochs_ = self._epochs_done(len(train))
        self.net_.eval()
        self._after_training(train, val)
        return self

    def _train(self, inputs: Any, n: int, gen: torch.Generator, val_inputs: tuple[Any, int] | None = None) -> None:
        """The training loop: per epoch the batches of `_epoch_batches` (batches of one sample
        are skipped: batch norm needs two), one optimiser step each; the epoch's mean loss is
        read from the device once per epoch."""
        import torch
        from torch.profiler import record_function  # named scopes for `make perf`'s profile; ~1 us each

        optimiser = self._optimiser()
        steps = self._steps_per_epoch(n)
        schedule = None
        if self._lr_factor(0, steps) is not None:
            schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: self._lr_factor(step, steps))
        self.loss_history_: list[float] = []
        self.val_loss_history_: list[float] = []
        self.batch_loss_history_: list[list[float]] = []  # per epoch, the loss of every step
        self.metric_history_: dict[str, list[float]] = {}  # per epoch, means of what _batch_loss reports
        self.epoch_seconds_: list[float] = []  # wall time of each epoch's training steps (validation excluded)
        self.epoch_samples_: list[int] = []  # samples the steps of each epoch trained on
        best, best_state, waited = math.inf, None, 0
        epochs, start = self._n_epochs(), time.perf_counter()
        for epoch in range(epochs):
            self.net_.train()
            losses, sizes, extras = [], [], {}
            started = time.perf_counter()
            for idx in self._epoch_batches(n, epoch, gen):
                if len(idx) < 2:
                    continue
                with record_function("mmadbench.forward"), self._autocast():
                    loss = self._batch_loss(inputs, idx, epoch, gen)
                if isinstance(loss, tuple):
                    loss, per_sample = loss
                    for key, value in per_sample.items():
                        extras.setdefault(key, []).append(value.detach().float().sum())
                with record_function("mmadbench.backward"):
                    optimiser.zero_grad(set_to_none=True)
                    loss.backward()
                with record_function("mmadbench.optimizer"):
                    optimiser.step()
                    if schedule is not None:
                        schedule.step()
                losses.append(loss.detach())
                sizes.append(len(idx))
            values = torch.stack(losses).float().cpu().tolist() if losses else []
            self.epoch_seconds_.append(time.perf_counter() - started)  # the loss read above waits for the device
            self.epoch_samples_.append(sum(sizes))
            self.batch_loss_history_.append(values)
            for key, sums in extras.items():
                self.metric_history_.setdefault(key, []).append(float(torch.stack(sums).sum()) / max(sum(sizes), 1))
            self.loss_history_.append(sum(v * s for v, s in zip(values, sizes)) / max(sum(sizes), 1))
            message = f"{self.name} epoch {epoch + 1}/{epochs}: loss {self.loss_history_[-1]:.4g}"
            if val_inputs is not None:
                self.net_.eval()
                self.val_loss_history_.append(self._validation_loss(*val_inputs, gen))
                message += f", validation loss {self.val_loss_history_[-1]:.4g}"
                if self.val_loss_history_[-1] < best:
                    best, waited = self.val_loss_history_[-1], 0
                    best_state = {k: v.detach().clone() for k, v in self.net_.state_dict().items()}
                else:
                    waited += 1
            logger.debug("%s, %.1f s", message, time.perf_counter() - start)
            if val_inputs is not None and waited >= self.patience:
                logger.debug("%s: validation loss has not improved for %d epochs; stopping", self.name, waited)
                break
            if self._converged():
                break
        if best_state is not None:
            self.net_.load_state_dict(best_state)  # the epoch with the lowest validation loss
        self.net_.eval()

    def _training_state(self, gen: torch.Generator) -> dict[str, Any]:
        """What training produced: the network's weights, the loop's histories, and the random
        states after the last step (what comes after training draws from them)."""
        import torch

        return {
            "net": {k: v.detach().cpu() for k, v in self.net_.state_dict().items()},
            "histories": {name: getattr(self, name) for name in TRAINING_HISTORIES},
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if self.device_.type == "cuda" else None,
            "generator": gen.get_state(),
        }

    def _reuse_training(self, state: dict[str, Any], gen: torch.Generator) -> bool:
        """Load a stored training in place of running the loop; False when it does not fit this
        network (the caller then trains from a fresh start)."""
        try:
            self._restore_training(state, gen)
        except (KeyError, RuntimeError, TypeError, ValueError) as exc:
            logger.warning("%s: the stored training does not load (%s); training instead", self.name, exc)
            return False
        return True

    def _restore_training(self, state: dict[str, Any], gen: torch.Generator) -> None:
        """Load a stored training (see `_training_state`) in place of running the loop."""
        import torch

        self.net_.load_state_dict(state["net"])
        for name, value in state["histories"].items():
            setattr(self, name, value)
        torch.set_rng_state(state["torch_rng"])
        if state["cuda_rng"] is not None and self.device_.type == "cuda":
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        gen.set_state(state["generator"])
        self.net_.eval()

    def _inference(self, n: int, step: Callable[[slice], Any], batch: int | None = None) -> Any:
        """Run `step(rows)` over batches of rows in inference mode (and autocast), and join the
        outputs on the CPU: a tensor becomes one float32 array, a dict of tensors a dict of them."""
        import torch

        batch = batch or self.score_batch
        parts: list[Any] = []
        with torch.inference_mode(), self._autocast():
            for start in range(0, n, batch):
                parts.append(step(slice(start, min(start + batch, n))))
        return _join(parts)

    # ---- pickling ----------------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        """Tensors and networks travel on the CPU, so a GPU-fitted detector loads anywhere."""
        return {k: _map_tensors(v, _on_cpu) for k, v in vars(self).items()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        vars(self).update(state)
        device = state.get("device_")
        if device is None or device.type == "cpu":
            return
        import torch

        if not torch.cuda.is_available():
            logger.warning("%s was fitted on %s; no GPU here, so it scores on the CPU", self.name, device)
            self.device_ = torch.device("cpu")
            return
        for key, value in state.items():
            vars(self)[key] = _map_tensors(value, lambda t: t.to(device))


def _join(parts: list[Any]) -> Any:
    if not parts:
        return np.empty(0, dtype=np.float32)
    if isinstance(parts[0], dict):
        return {k: np.concatenate([p[k].float().cpu().numpy() for p in parts]) for k in parts[0]}
    return np.concatenate([p.float().cpu().numpy() for p in parts])
