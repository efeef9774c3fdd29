"""The project's one user-facing error type."""
from __future__ import annotations


class ConfigError(ValueError):
    """A problem the user can fix in the config or in an input file.

    The message names the field or the file, the offending value and the fix, e.g.
    ``data.tsv_pattern: file 'data/ted-en-xx.tsv.gz' does not exist. ...``.
    The CLI prints the message (no traceback) and exits with status 2.
    """
