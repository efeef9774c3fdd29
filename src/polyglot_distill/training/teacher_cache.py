"""A persistent, content-addressed store of teacher embeddings, shared by runs and by concurrent sweep jobs.

Layout under ``teacher_cache_dir``::

    <fingerprint[:24]>/teacher.json        what the teacher is (its fingerprint's ingredients), for people
    <fingerprint[:24]>/stats.json          the last measured encode time per sentence (for teacher_cache/saved_s)
    <fingerprint[:24]>/<sha256>.npy        a shard: rows of (key: 32 bytes, vector: float32[dim])
    <fingerprint[:24]>/.lock               flock'ed while a process encodes and writes a shard

- The **fingerprint** hashes everything that decides a teacher's output: every state_dict tensor's name, dtype,
  shape and bytes (so the precision too), the module stack (class and config of each module, so a stripped
  Normalize is another teacher), ``max_seq_length``, prompts, the tokenizer and the encoder's config.
- A row's **key** is ``sha256(fingerprint, text)``: the exact text, no normalisation.
- A **shard** is one ``.npy`` file (a structured array, no pickle) named by the sha256 of its bytes. It is written
  to a temporary file and renamed into place, so it is either absent or complete. A reader re-hashes it and
  checks its dtype against the teacher's dimension; a corrupt or truncated shard is deleted with a warning and
  its rows are encoded again.
- **Concurrency**: shards are immutable and uniquely named, so readers need no lock. A process with misses takes
  the teacher's lock, reads the shards again (another job may have just written its sentences), encodes what is
  still missing and writes one shard. Two sweep jobs with one teacher thus encode each sentence once between them.
"""
from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from polyglot_distill.errors import ConfigError

log = logging.getLogger(__name__)

KEY_BYTES = 32
_DROP_CONFIG = ("_name_or_path", "transformers_version", "_commit_hash")


def check_writable(path: str | Path, field_name: str = "teacher_cache_dir") -> None:
    """Raise a ConfigError naming ``path`` unless the cache directory exists writable or can be created.

    Creates nothing that stays: a probe file in the directory (or its nearest existing ancestor) is removed."""
    path = Path(path).expanduser()
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    fix = f"Point {field_name} at a writable folder, or turn the cache off with teacher.cache=false."
    if not probe.is_dir():
        raise ConfigError(f"{field_name}: '{path}' is not a writable directory ('{probe}' is a file). {fix}")
    try:
        fd, name = tempfile.mkstemp(dir=probe, prefix=".write-probe-")
        os.close(fd)
        os.unlink(name)
    except OSError as err:
        raise ConfigError(f"{field_name}: '{path}' is not writable ({err.strerror} in '{probe}'). {fix}") from err


def describe(teacher) -> dict:
    """What decides the teacher's embeddings, besides its weights (hashed separately in :func:`fingerprint`)."""
    modules = []
    for module in teacher:
        entry = {"class": f"{type(module).__module__}.{type(module).__qualname__}"}
        if hasattr(module, "get_config_dict"):
            entry["config"] = module.get_config_dict()
        for attr in ("auto_model", "model"):
            config = getattr(getattr(module, attr, None), "config", None)
            if config is not None and hasattr(config, "to_dict"):
                entry["model_config"] = {k: v for k, v in config.to_dict().items() if k not in _DROP_CONFIG}
                break
        modules.append(entry)
    params = list(teacher.parameters())
    tokenizer = getattr(teacher, "tokenizer", None)
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:  # without the per-call state a tokenizer call leaves behind (its last truncation and
        # padding: encoding 128-token batches, then the tokenizer report's untruncated call, gave two fingerprints)
        tok_text = json.dumps({k: v for k, v in json.loads(backend.to_str()).items()
                               if k not in ("truncation", "padding")}, sort_keys=True)
    else:
        tok_text = repr(tokenizer)
    return {
        "modules": modules,
        "max_seq_length": teacher.max_seq_length,
        "precision": str(params[0].dtype).removeprefix("torch.") if params else "none",
        "prompts": getattr(teacher, "prompts", None),
        "default_prompt_name": getattr(teacher, "default_prompt_name", None),
        "tokenizer_sha256": hashlib.sha256(tok_text.encode()).hexdigest(),
    }


def fingerprint(teacher, variant: str = "") -> tuple[str, dict]:
    """``(sha256 hex, description)`` of the teacher: its weights' bytes plus :func:`describe`; ``variant``: how it
    is run where that changes its vectors (``"autocast bf16"``)."""
    import torch

    description = describe(teacher) | ({"variant": variant} if variant else {})
    h = hashlib.sha256()
    for name, tensor in sorted(teacher.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}\n".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy())
    description["weights_sha256"] = h.hexdigest()
    text = json.dumps(description, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest(), description


def text_keys(teacher_fp: str, texts: list[str]) -> list[bytes]:
    prefix = hashlib.sha256(teacher_fp.encode() + b"\0")
    keys = []
    for text in texts:
        h = prefix.copy()
        h.update(text.encode("utf-8"))
        keys.append(h.digest())
    return keys


def _dtype(dim: int) -> np.dtype:
    # raw bytes ("V"), not a NumPy string ("S"): an "S" field drops a digest's trailing NUL bytes when read back
    return np.dtype([("key", f"V{KEY_BYTES}"), ("vector", "<f4", (dim,))])


def _keys(rows: np.ndarray) -> list[bytes]:
    blob = np.ascontiguousarray(rows["key"]).tobytes()
    return [blob[k:k + KEY_BYTES] for k in range(0, len(blob), KEY_BYTES)]


def _atomic_write(directory: Path, name: str, write) -> Path:
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, directory / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return directory / name


def _file_sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def check_shard(path: Path, dim: int | None = None) -> np.ndarray:
    """The shard's rows, memory-mapped, after checking its name (sha256 of its bytes) and its dtype.

    Raises ValueError saying what is wrong."""
    digest = _file_sha256(path)
    if digest != path.stem:
        raise ValueError(f"sha256 {digest[:12]}... does not match its name (truncated or corrupt)")
    rows = np.load(path, mmap_mode="r", allow_pickle=False)
    if rows.dtype.names != ("key", "vector") or rows.ndim != 1 or rows.dtype["key"] != np.dtype(f"V{KEY_BYTES}"):
        raise ValueError(f"unexpected layout {rows.dtype} {rows.shape}")
    if dim is not None and rows.dtype["vector"].shape != (dim,):
        raise ValueError(f"vectors of shape {rows.dtype['vector'].shape}, the teacher gives ({dim},)")
    return rows


def shards(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.npy") if len(p.stem) == 64)


def _load(directory: Path, dim: int | None) -> dict[bytes, tuple[np.ndarray, int]]:
    """key -> (shard rows, row) over every valid shard; bad shards are deleted with a warning."""
    index: dict[bytes, tuple[np.ndarray, int]] = {}
    for path in shards(directory):
        try:
            rows = check_shard(path, dim)
        except FileNotFoundError:
            continue  # another process discarded it just now
        except (ValueError, OSError) as err:
            log.warning("teacher cache: discarding %s (%s); its sentences are encoded again", path, err)
            path.unlink(missing_ok=True)
            continue
        for k, key in enumerate(_keys(rows)):
            index.setdefault(key, (rows, k))
    return index


@dataclass
class Stats:
    hits: int = 0
    misses: int = 0
    encode_s: float = 0.0  # the teacher's forward passes over the misses
    wait_s: float = 0.0  # waiting for another process that held this teacher's lock
    saved_s: float = float("nan")  # hits x the measured encode time per sentence (nan: never measured)
    directory: str = ""

    def metrics(self) -> dict[str, float]:
        out = {"teacher_cache/hits": float(self.hits), "teacher_cache/misses": float(self.misses),
               "teacher_cache/wait_s": self.wait_s}
        if self.saved_s == self.saved_s:  # not nan
            out["teacher_cache/saved_s"] = self.saved_s
        return out


def teacher_dir(root: str | Path, teacher_fp: str) -> Path:
    return Path(root).expanduser() / teacher_fp[:24]


def encode_cached(root: str | Path, teacher, texts: list[str], encode: Callable[[list[str]], np.ndarray],
                  dim: int, variant: str = "") -> tuple[np.ndarray, Stats]:
    """Vectors of ``texts`` (distinct) from the cache under ``root``; the misses are encoded with ``encode`` and
    stored. ``dim``: the teacher's embedding size. Any model can be cached so (the untrained student's baseline
    vectors are: ``stages.Memo``); ``variant`` as in :func:`fingerprint`."""
    teacher_fp, description = fingerprint(teacher, variant)
    directory = teacher_dir(root, teacher_fp)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _not_writable(directory, err) from err
    stats = Stats(directory=str(directory))
    keys = text_keys(teacher_fp, texts)
    index = _load(directory, dim)
    fresh: dict[int, np.ndarray] = {}  # position in texts -> vector encoded now
    if any(key not in index for key in keys):
        waited = time.perf_counter()
        with _locked(directory):  # raises ConfigError naming the folder if it cannot be written
            stats.wait_s = time.perf_counter() - waited
            index = _load(directory, dim)  # another job may have encoded them while this one waited
            missing = [k for k, key in enumerate(keys) if key not in index]
            if missing:
                started = time.perf_counter()
                new = np.asarray(encode([texts[k] for k in missing]), dtype=np.float32)
                stats.encode_s = time.perf_counter() - started
                rows = np.empty(len(missing), dtype=_dtype(dim))
                rows["key"] = np.frombuffer(b"".join(keys[k] for k in missing), dtype=f"V{KEY_BYTES}")
                rows["vector"] = new
                try:
                    _write_shard(directory, rows)
                    _write_json(directory, "teacher.json", {"fingerprint": teacher_fp, **description})
                    _write_json(directory, "stats.json", {"encode_s_per_sentence": stats.encode_s / len(missing)})
                except OSError as err:
                    raise _not_writable(directory, err) from err
                fresh = dict(zip(missing, new))
    out = np.empty((len(texts), dim), dtype=np.float32)
    for k, key in enumerate(keys):
        if k in fresh:
            out[k] = fresh[k]
        else:
            rows, row = index[key]
            out[k] = rows["vector"][row]
    stats.misses = len(fresh)
    stats.hits = len(texts) - stats.misses
    per_sentence = stats.encode_s / stats.misses if stats.misses else _read_rate(directory)
    stats.saved_s = stats.hits * per_sentence
    log.info("embedding cache %s: %d hits, %d misses%s", directory, stats.hits, stats.misses,
             f", ~{stats.saved_s:.1f} s saved" if stats.saved_s == stats.saved_s else "")
    return out, stats


def _not_writable(directory: Path, err: OSError) -> ConfigError:
    return ConfigError(f"teacher_cache_dir: cannot write the teacher cache folder '{directory}' ({err.strerror}). "
                       f"Point teacher_cache_dir at a writable folder, or turn the cache off with teacher.cache=false.")


def _write_shard(directory: Path, rows: np.ndarray) -> Path:
    import io

    buf = io.BytesIO()
    np.save(buf, rows, allow_pickle=False)
    data = buf.getvalue()
    return _atomic_write(directory, hashlib.sha256(data).hexdigest() + ".npy", lambda f: f.write(data))


def _write_json(directory: Path, name: str, obj: dict) -> None:
    text = json.dumps(obj, indent=1, sort_keys=True, default=str).encode()
    _atomic_write(directory, name, lambda f: f.write(text))


def _read_rate(directory: Path) -> float:
    try:
        return float(json.loads((directory / "stats.json").read_text())["encode_s_per_sentence"])
    except (OSError, ValueError, KeyError, TypeError):
        return float("nan")


class _locked:
    """An exclusive ``flock`` on ``<directory>/.lock`` (released by the OS if the holder dies)."""

    def __init__(self, directory: Path):
        self.path = directory / ".lock"

    def __enter__(self):
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as err:
            raise _not_writable(self.path.parent, err) from err
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            if err.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            log.info("teacher cache: another process is encoding with this teacher; waiting for it (%s)", self.path)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def verify(root: str | Path) -> dict:
    """Check every shard under ``root`` without changing anything.

    Returns ``{"teachers": n, "shards": n, "rows": n, "problems": [...]}``; a problem is a shard that fails its
    checksum or layout, a shard whose dimension differs from its teacher's other shards, or one key stored with
    two different vectors."""
    root = Path(root).expanduser()
    report = {"teachers": 0, "shards": 0, "rows": 0, "problems": []}
    if not root.is_dir():
        return report
    for directory in sorted(p for p in root.iterdir() if p.is_dir()):
        report["teachers"] += 1
        seen: dict[bytes, np.ndarray] = {}
        dims = set()
        for path in shards(directory):
            report["shards"] += 1
            try:
                rows = check_shard(path)
            except (ValueError, OSError) as err:
                report["problems"].append(f"{path}: {err}")
                continue
            dims.add(rows.dtype["vector"].shape)
            report["rows"] += len(rows)
            for key, vector in zip(_keys(rows), rows["vector"]):
                old = seen.setdefault(key, vector)
                if old is not vector and not np.array_equal(old, vector):
                    report["problems"].append(f"{path}: key {key.hex()[:12]} stored with another vector")
        if len(dims) > 1:
            report["problems"].append(f"{directory}: shards of several dimensions {sorted(dims)}")
    return report
