"""One process at a time builds a cached asset: a parallel sweep, or the test suite's two workers, start several
that want the same folder; the others wait, then find it complete."""
from __future__ import annotations

import contextlib
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no lock, the atomic os.replace of each builder still keeps the cache whole
    fcntl = None


@contextlib.contextmanager
def exclusive(path: Path):
    """An exclusive ``flock`` on ``path`` (created), released when the block ends or the process dies."""
    with open(path, "w") as fh:
        if fcntl is not None:
            fcntl.flock(fh, fcntl.LOCK_EX)
        yield  # closing the file releases the lock
