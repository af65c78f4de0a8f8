"""Executors run cells and hand each outcome back to the runner, which stores it.

- in-process: simplest, fastest for small sweeps; a detector that raises is recorded.
- process pool: local worker processes (spawned, so CUDA is safe); a cell that passes its time
  limit or memory limit, or whose worker dies, is recorded and its worker replaced.
- Ray: each cell a task (one GPU when the sweep runs on CUDA), on a local or remote cluster.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import signal
import time
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import wait
from typing import Protocol

from mmadbench.benchmark.measure.cell import Cell, DataCache, Outcome, RunOptions, execute_cell, failed_outcome
from mmadbench.benchmark.measure.memory import rss_mb
from mmadbench.errors import ConfigError

logger = logging.getLogger(__name__)

Finish = Callable[[Cell, Outcome], None]


class Executor(Protocol):
    def run(self, cells: list[Cell], finish: Finish) -> None: ...


class InProcessExecutor:
    """Runs cells one after another in this process (sharing the runner's loaded data)."""

    def __init__(self, options: RunOptions, cache: DataCache | None = None) -> None:
        self.options = options
        self.cache = cache or DataCache(options.data_root)

    def run(self, cells: list[Cell], finish: Finish) -> None:
        for cell in cells:
            finish(cell, execute_cell(cell, self.options, self.cache))


def _worker_main(conn, options: RunOptions) -> None:  # pragma: no cover - child process
    """Worker loop: load plugins, then run each cell received until told to stop (each cell sets
    its own thread count, as in every executor). Sends ("start", None) when the cell's data is
    ready, then ("done", outcome)."""
    from mmadbench.detectors.registry import load_plugin_file

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s worker %(name)s: %(message)s")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when workers stop
    for plugin in options.plugins:
        load_plugin_file(plugin)
    cache = DataCache(options.data_root)
    while True:
        cell = conn.recv()
        if cell is None:
            return
        outcome = execute_cell(cell, options, cache, on_start=lambda: conn.send(("start", None)))
        conn.send(("done", outcome))


# A worker's start-up (spawn, imports, plugins) and data loading are not the cell's: the time
# limit starts when the worker says the cell has started. Until then a
# separate, generous limit catches a worker that never gets there.
STARTUP_LIMIT_S = 900.0


class _Worker:
    def __init__(self, ctx, options: RunOptions) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, options), daemon=True)
        self.proc.start()
        child.close()
        self.cell: Cell | None = None
        self.last_key: object = None  # the data key of the last cell it ran (its splits are cached)
        self.assigned = 0.0
        self.started: float | None = None  # when the cell itself started (None: still preparing)

    def assign(self, cell: Cell) -> None:
        self.cell, self.assigned, self.started = cell, time.perf_counter(), None
        self.conn.send(cell)

    def receive(self) -> Outcome | None:
        """Read the worker's messages: note the cell's start, return its outcome once sent."""
        while self.conn.poll():
            message, payload = self.conn.recv()
            if message == "start":
                self.started = time.perf_counter()
            elif message == "done":
                return payload
        return None

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()

    def ask_to_stop(self) -> None:
        """Tell the worker to exit after its current message (it exits on its own)."""
        try:
            self.conn.send(None)
        except (OSError, BrokenPipeError):
            pass


def _next_cell(queue: deque[Cell], worker: _Worker, pool: list[_Worker]) -> Cell:
    """The queued cell `worker` should run next, among those whose training no other worker is
    running (else among all): one on the data it last prepared (its splits are cached), else one
    on data no other worker is busy with, else the first. Without this, two workers walking one
    ordered queue would each prepare every split, and train every network, the other does."""
    others = [w.cell for w in pool if w is not worker and w.cell is not None]
    busy, training = {c.data_key for c in others}, {c.training_key for c in others}
    # not the training another worker is doing, while there is other work: later, its network loads
    free = [c for c in queue if c.training_key not in training] or list(queue)
    chosen = next((c for c in free if c.data_key == worker.last_key), None)
    if chosen is None:
        chosen = next((c for c in free if c.data_key not in busy), free[0])
    queue.remove(chosen)
    worker.last_key = chosen.data_key
    return chosen


class ProcessPoolExecutor:
    """`workers` local processes, each running one cell at a time, with per-cell limits; with
    `options.isolate` every cell gets a fresh process (timing-grade: nothing of an earlier cell
    stays in memory or caches)."""

    def __init__(self, options: RunOptions, workers: int) -> None:
        self.options, self.workers = options, workers
        self.ctx = mp.get_context("spawn")

    def _check(self, w: _Worker) -> tuple[Outcome | None, bool]:
        """The worker's outcome if its cell has ended (and whether the worker must be replaced)."""
        cell, limits = w.cell, self.options
        try:
            outcome = w.receive()
        except (EOFError, OSError):
            outcome = None
        if outcome is not None:
            return outcome, self.options.isolate
        if not w.proc.is_alive() or w.conn.closed:
            code = w.proc.exitcode
            if code == -signal.SIGKILL:
                return failed_outcome(
                    cell, limits, "oom", "worker killed by SIGKILL (the system ran out of memory?)"
                ), True
            return failed_outcome(cell, limits, "error", f"worker process died (exit code {code})"), True
        now = time.perf_counter()
        if w.started is None and now - w.assigned > max(STARTUP_LIMIT_S, limits.time_limit_s or 0):
            return failed_outcome(
                cell,
                limits,
                "timeout",
                "the worker did not finish loading the cell's data "
                f"within {max(STARTUP_LIMIT_S, limits.time_limit_s or 0):g} s",
            ), True
        if limits.time_limit_s and w.started is not None and now - w.started > limits.time_limit_s:
            return failed_outcome(
                cell, limits, "timeout", f"exceeded the time limit of {limits.time_limit_s:g} s"
            ), True
        rss = rss_mb(w.proc.pid)
        if limits.memory_limit_mb and rss is not None and rss > limits.memory_limit_mb:
            return failed_outcome(
                cell, limits, "oom", f"worker memory {rss:.0f} MB exceeded the limit of {limits.memory_limit_mb:g} MB"
            ), True
        return None, False

    def run(self, cells: list[Cell], finish: Finish) -> None:
        queue = deque(cells)
        pool = [_Worker(self.ctx, self.options) for _ in range(min(self.workers, len(cells)))]
        try:
            while queue or any(w.cell is not None for w in pool):
                for w in pool:
                    if w.cell is None and queue:
                        w.assign(_next_cell(queue, w, pool))
                busy = [w for w in pool if w.cell is not None]
                wait([w.conn for w in busy] + [w.proc.sentinel for w in busy], timeout=0.2)
                for i, w in enumerate(pool):
                    if w.cell is None:
                        continue
                    outcome, replace = self._check(w)
                    if outcome is None:
                        continue
                    cell, w.cell = w.cell, None
                    if replace:  # a worker past a limit, dead, or done with its one cell (--isolate)
                        w.kill()
                        if queue:
                            pool[i] = _Worker(self.ctx, self.options)
                    finish(cell, outcome)
        finally:
            for w in pool:  # all at once: each worker's exit (torch's teardown) overlaps the others'
                w.ask_to_stop()
            for w in pool:
                w.proc.join(10)
                w.kill()


_ray_plugins_loaded: set[str] = set()
_ray_caches: dict[str | None, DataCache] = {}


def _ray_cell(cell: Cell, options: RunOptions) -> Outcome:  # pragma: no cover - runs in a Ray worker
    from mmadbench.detectors.registry import load_plugin_file

    for plugin in options.plugins:
        if plugin not in _ray_plugins_loaded:
            load_plugin_file(plugin)
            _ray_plugins_loaded.add(plugin)
    cache = _ray_caches.setdefault(options.data_root, DataCache(options.data_root))
    return execute_cell(cell, options, cache)


class RayExecutor:
    """Each cell a Ray task: one CPU, plus one GPU when the sweep runs on CUDA.

    Starts a local Ray instance with `workers` CPUs unless `address` names a running cluster.
    The time limit cancels the task; the memory limit is left to Ray's own memory monitor.
    """

    def __init__(self, options: RunOptions, workers: int, address: str | None) -> None:
        self.options, self.workers, self.address = options, workers, address

    def run(self, cells: list[Cell], finish: Finish) -> None:
        try:
            import ray
        except ImportError:
            raise ConfigError("the Ray executor needs Ray: pip install 'mmadbench[ray]'") from None
        started_here = not ray.is_initialized()
        if started_here:
            kwargs = {"address": self.address} if self.address else {"num_cpus": self.workers}
            ray.init(include_dashboard=False, log_to_driver=False, **kwargs)
        gpu = 1 if self.options.device.startswith("cuda") else 0
        # max_calls=1: a fresh worker process per cell with --isolate
        remote = ray.remote(max_calls=1)(_ray_cell) if self.options.isolate else ray.remote(_ray_cell)
        task = remote.options(num_cpus=1, num_gpus=gpu, max_retries=0)
        # no more tasks in flight than can run at once, so the time limit never counts queueing
        slots = min(self.workers, int(ray.cluster_resources().get("GPU", 0))) if gpu else self.workers
        slots = max(1, slots)
        queue, inflight = deque(cells), {}
        try:
            while queue or inflight:
                while queue and len(inflight) < slots:
                    cell = queue.popleft()
                    inflight[task.remote(cell, self.options)] = (cell, time.perf_counter())
                ready, _ = ray.wait(list(inflight), num_returns=1, timeout=0.5)
                for ref in ready:
                    cell, _ = inflight.pop(ref)
                    try:
                        outcome = ray.get(ref)
                    except Exception as exc:  # the task itself died (worker crash, cancelled)
                        outcome = failed_outcome(cell, self.options, "error", f"Ray task failed: {exc}")
                    finish(cell, outcome)
                self._cancel_late(inflight, finish, ray)
        finally:
            for ref in inflight:
                ray.cancel(ref, force=True)
            if started_here:
                ray.shutdown()

    def _cancel_late(self, inflight: dict, finish: Finish, ray) -> None:
        limit = self.options.time_limit_s
        if not limit:
            return
        now = time.perf_counter()
        for ref, (cell, started) in list(inflight.items()):
            if now - started > limit:
                ray.cancel(ref, force=True)
                del inflight[ref]
                finish(cell, failed_outcome(cell, self.options, "timeout", f"exceeded the time limit of {limit:g} s"))


EXECUTORS = ("inprocess", "process", "ray")


def make(
    name: str, workers: int, options: RunOptions, address: str | None = None, cache: DataCache | None = None
) -> Executor:
    """The executor by name; in-process with a time or memory limit becomes one worker process."""
    if name not in EXECUTORS:
        raise ConfigError(f"unknown executor {name!r}; choose from {list(EXECUTORS)}")
    if name == "ray":
        return RayExecutor(options, workers, address)
    if name == "process" or workers > 1 or options.time_limit_s or options.memory_limit_mb or options.isolate:
        if name == "inprocess":
            logger.info("time/memory limits, --isolate or several workers need worker processes: using %d", workers)
        return ProcessPoolExecutor(options, workers)
    return InProcessExecutor(options, cache)
