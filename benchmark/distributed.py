"""``--executor ray``: a run's units spread over a Ray cluster.

The driver (the process running ``python -m benchmark run``) plans the units and skips the finished
ones exactly as the local executor does. Each remaining unit is cut into parts of ``part_size``
samples (a multiple of the batch size and of the Inception batch, so every batch, and so every
number, is the one the local executor computes); pass-through units stay whole. Parts go to a pool
of Ray actors: each builds the run's Runner once (datasets, restorers, readers, metric networks) and
keeps it for every part it gets, on the CPU or on a share of a GPU. Finished parts come back to the
driver, which assembles a unit when all its parts are in (KID over the whole unit) and writes it as
the local executor does: resume, caches and results are the same whichever executor ran a unit.

An actor that dies is restarted and its part retried by Ray (``max_restarts``,
``max_task_retries``); a part's rows are pure functions of the inputs and the driver writes a unit
once, so nothing is lost or counted twice.

Cluster: ``ray start --head`` on one machine, ``ray start --address HEAD:6379`` on the others
(same Python environment, the data at the same path), then ``--executor ray --ray-address auto``
(or ``HEAD:6379``) on the head. Without ``--ray-address`` a local Ray instance is started.
"""
from __future__ import annotations

import math
import os
from collections import deque

import torch

from .errors import BenchmarkError

FAIL_ONCE_ENV = "BENCHMARK_RAY_FAIL_ONCE"  # tests: a file path; the first part to see it missing exits


def part_bounds(n: int, size: int) -> list[tuple[int, int]]:
    return [(start, min(n, start + size)) for start in range(0, n, size)]


def oversubscription(actors: int, threads: int, cpus: float) -> str | None:
    """The warning for actors whose threads together outnumber the cluster's CPUs, or None."""
    if actors * threads <= cpus:
        return None
    return (f"warning: {actors} Ray actors x {threads} threads each (the driver's count) on {cpus:g} CPUs: "
            f"oversubscribed, expect it to be many times slower than the local executor; "
            f"run with OMP_NUM_THREADS=1 (numbers may then differ from a {threads}-thread run in the last bits)")


def ray_results(runner, todo: list[tuple], bar):
    """(unit, rows) for each unit of ``todo``, computed by Ray actors, in order of completion."""
    try:
        import ray
    except ImportError:
        raise BenchmarkError("--executor ray needs Ray: pip install -e '.[ray]'") from None
    config = runner.config
    # part boundaries must split neither a restorer batch nor, with KID on, an Inception batch
    inception = runner.inception
    step = math.lcm(config.batch_size, inception.batch_size) if inception is not None else config.batch_size
    size = max(step, -(-config.part_size // step) * step)
    if not ray.is_initialized():
        try:
            ray.init(address=config.ray_address, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise BenchmarkError(f"cannot reach the Ray cluster at {config.ray_address!r}: {e}") from None
    def bounds(unit):  # pass-through units stay whole
        n = len(runner.datasets[unit[0]])
        return [(0, n)] if unit[1] is None else part_bounds(n, size)

    parts = deque((unit, start, stop) for unit in todo for start, stop in bounds(unit))
    if not parts:
        return
    needed: dict[tuple, int] = {}
    for unit, _, _ in parts:
        needed[unit] = needed.get(unit, 0) + 1

    resources = ray.cluster_resources()
    count = max(1, min(len(parts), int(resources.get("CPU", 1))))
    gpus = resources.get("GPU", 0) if config.device != "cpu" else 0
    options = dict(num_cpus=1, num_gpus=gpus / count if gpus else 0, max_restarts=3, max_task_retries=3)
    if os.environ.get(FAIL_ONCE_ENV):
        options["runtime_env"] = {"env_vars": {FAIL_ONCE_ENV: os.environ[FAIL_ONCE_ENV]}}
    Worker = ray.remote(PartWorker).options(**options)
    worker_config = _for_workers(config, "cuda" if gpus else "cpu")
    # Ray gives each actor one thread; results of some kernels (convolutions) depend on the thread
    # count in their last bits, so the actors use the driver's count and compute its numbers exactly.
    threads = torch.get_num_threads()
    warning = oversubscription(count, threads, resources.get("CPU", 1))
    if warning:
        runner.log(warning)
    workers = [Worker.remote(type(runner), worker_config, threads) for _ in range(count)]
    pending: dict = {}
    collected: dict[tuple, list] = {}
    try:
        for worker in workers * 2:  # two parts in flight per actor keeps it busy
            if parts:
                unit, start, stop = parts.popleft()
                pending[worker.compute.remote(unit, start, stop)] = (worker, unit, start, stop)
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            worker, unit, start, stop = pending.pop(done[0])
            part = ray.get(done[0])
            if bar is not None:
                bar.update(stop - start)
            collected.setdefault(unit, []).append(part)
            if parts:
                next_unit, next_start, next_stop = parts.popleft()
                pending[worker.compute.remote(next_unit, next_start, next_stop)] = \
                    (worker, next_unit, next_start, next_stop)
            if len(collected[unit]) == needed[unit]:
                runner.current_unit = unit
                yield unit, runner.finish_unit(unit, collected.pop(unit))
                runner.current_unit = None
    finally:
        for worker in workers:
            ray.kill(worker)


def _for_workers(config, device: str):
    from dataclasses import replace

    return replace(config, executor="local", device=device)


class PartWorker:
    """A Ray actor holding one Runner (models loaded once) and computing unit parts."""

    def __init__(self, runner_class, config, threads: int):
        torch.set_num_threads(threads)
        # the driver's Runner class, passed in so that this module does not import the runner
        self.runner = runner_class(config, progress=False, log=lambda message: None)
        self.runner.prepare()

    def compute(self, unit: tuple, start: int, stop: int):
        flag = os.environ.get(FAIL_ONCE_ENV)
        if flag and not os.path.exists(flag):  # fault injection for the tests: die mid-part once
            with open(flag, "w") as f:
                f.write(str(os.getpid()))
            os._exit(1)
        return self.runner.compute_part(unit, start, stop)
