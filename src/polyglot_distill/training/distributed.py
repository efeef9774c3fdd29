"""Data parallelism under torchrun: which process am I, wait for the others, share one object, one run folder.

``torchrun --nproc_per_node=N train.py hardware=ddp ...`` starts N copies of ``train.py``; torchrun sets
``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE`` and ``TORCHELASTIC_RUN_ID`` (one id for every process of a job) in
each. Every rank composes the same config and writes to the same folder (``conf/hardware/ddp.yaml`` names it
after the run id, not the clock: the processes start a few milliseconds apart). Rank 0 computes the teacher's
labels and sends them to the others, evaluates, logs the one MLflow run and saves the model; every rank takes
part in training, where the sentence-transformers Trainer wraps the student in DistributedDataParallel.
Without torchrun (no ``WORLD_SIZE``) everything here is a no-op and a run is a single process.
"""
from __future__ import annotations

import logging
import os
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist

from polyglot_distill.errors import ConfigError

log = logging.getLogger(__name__)

RUN_ID_ENV = "TORCHELASTIC_RUN_ID"
# Ranks 1..N-1 wait in a collective while rank 0 alone loads the teacher, labels and evaluates the baselines
# (minutes for the default run with UDHR): longer than torch's default of 10 min for NCCL.
TIMEOUT = timedelta(hours=1)


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_main() -> bool:
    """Rank 0, or the only process: the one that logs, evaluates and saves."""
    return rank() == 0


def check(hardware, batch_size: int) -> None:
    """Config errors of a distributed launch, before anything starts (see docs/errors.md)."""
    backend, n = hardware.get("distributed_backend"), world_size()
    if backend == "nccl" and hardware.device != "cuda":
        raise ConfigError(f"hardware.distributed_backend: 'nccl' needs CUDA GPUs (hardware.device is "
                          f"'{hardware.device}'). Use hardware=ddp (gloo on CPU) or hardware=ddp_cuda.")
    if n == 1:
        return
    if backend is None:
        raise ConfigError(f"hardware.distributed_backend: null, but torchrun started {n} processes "
                          f"(WORLD_SIZE={n}): each would train alone and log its own MLflow run. "
                          f"Use hardware=ddp (CPU, gloo) or hardware=ddp_cuda (GPUs, nccl).")
    if batch_size % n:
        raise ConfigError(f"optimizer.batch_size: {batch_size} is not divisible by the {n} processes "
                          f"(WORLD_SIZE={n}); each process trains on batch_size / {n} of every batch. "
                          f"Use a multiple of {n} (e.g. optimizer.batch_size={batch_size + n - batch_size % n}) "
                          f"or another --nproc_per_node.")
    if os.environ.get(RUN_ID_ENV) == "none":
        raise ConfigError(f"{RUN_ID_ENV}: 'none' (torchrun with a static rendezvous and no --rdzv-id), so every "
                          f"job would write into the same run folder outputs/ddp/none. Launch with --standalone "
                          f"(one node) or --rdzv-id=<a unique job id> (several nodes), see docs/scaling.md.")


def init(hardware) -> None:
    """Join the process group of a torchrun job (no-op for one process or when already joined)."""
    if world_size() == 1 or dist.is_initialized():
        return
    if hardware.device == "cuda":
        torch.cuda.set_device(local_rank())  # one GPU per process; NCCL collectives use the current device
    dist.init_process_group(backend=hardware.distributed_backend, timeout=TIMEOUT)


def separate_worker_log() -> Path | None:
    """On ranks 1..N-1, move the log file of Hydra's job logging to ``<run dir>/<job>-rank<k>.log``.

    Every rank composes the same config, so Hydra's default ``hydra/job_logging`` gives each one a FileHandler on
    the same ``<run dir>/<job name>.log`` (conf/ sets none of its own), and the ranks' lines would interleave in
    rank 0's ``train.log``. Returns the new file (None on rank 0, or where no file handler is configured)."""
    root, moved = logging.getLogger(), None
    if is_main():
        return None
    for handler in [h for h in root.handlers if isinstance(h, logging.FileHandler)]:
        old = Path(handler.baseFilename)
        moved = old.with_name(f"{old.stem}-rank{rank()}{old.suffix}")
        own = logging.FileHandler(moved, mode=handler.mode, encoding=handler.encoding, delay=True)
        own.setLevel(handler.level)
        own.setFormatter(handler.formatter)
        for f in handler.filters:
            own.addFilter(f)
        root.removeHandler(handler)
        handler.close()
        root.addHandler(own)
    return moved


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def broadcast(obj):
    """Rank 0's ``obj`` on every rank (pickled; fine for the teacher's labels, tens of MB)."""
    if not dist.is_initialized():
        return obj
    box = [obj if is_main() else None]
    dist.broadcast_object_list(box, src=0)
    if not is_main():
        log.info("rank %d received %s from rank 0 (not computed here)", rank(), type(box[0]).__name__)
    return box[0]
