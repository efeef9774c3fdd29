"""The project's one user-facing error type."""
from __future__ import annotations


class ConfigError(ValueError):
    """A problem the user can fix in the config or in an input file.

    The message names the field or the file, the offending value and the fix, e.g.
    ``data.tsv_pattern: file 'data/ted-en-xx.tsv.gz' does not exist. ...``.
    The CLI prints the message (no traceback) and exits with status 2.
    """


def check_choice(field: str, value, choices: tuple) -> None:
    """Raise a :class:`ConfigError` naming ``field`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ConfigError(f"{field}: '{value}' is not one of {', '.join(map(str, choices))}.")
