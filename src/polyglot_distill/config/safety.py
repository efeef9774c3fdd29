"""Checks that keep a run from doing something unsafe or from failing late: ``_target_`` allowlist, a writable
output folder, a reachable tracking store.

``_target_`` makes Hydra import and call whatever it names (``_target_: os.system`` would run a shell command),
so every ``_target_`` in the composed config, the ``hydra.*`` part included (callbacks, sweeper, launcher),
must name a *class* of this project or of the libraries it is built on. ``train.py`` checks this before Hydra
instantiates anything (:func:`check_cli_targets`); :func:`polyglot_distill.config.validation.validate` checks the job
config again for callers of the Python API.
"""
from __future__ import annotations

import inspect
import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

from omegaconf import DictConfig, ListConfig, OmegaConf

from polyglot_distill.errors import ConfigError

ALLOWED_TARGETS = ("polyglot_distill.", "hydra.", "hydra_plugins.", "optuna.", "sentence_transformers.",
                   "transformers.", "torch.")
CONNECT_TIMEOUT_S = 3.0


def _targets(node, path: str = ""):
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}" if path else str(key)
            if key == "_target_":
                yield where, value
            else:
                yield from _targets(value, where)
    elif isinstance(node, list):
        for k, value in enumerate(node):
            yield from _targets(value, f"{path}[{k}]")


def check_targets(cfg: DictConfig) -> None:
    """Every ``_target_`` names a class under :data:`ALLOWED_TARGETS`; a :class:`ConfigError` otherwise."""
    from hydra._internal.utils import _locate

    container = OmegaConf.to_container(cfg, resolve=False) if isinstance(cfg, (DictConfig, ListConfig)) else cfg
    for where, target in _targets(container):
        fix = (f"Use a class of {', '.join(p.rstrip('.') for p in ALLOWED_TARGETS)} (docs/reliability.md), "
               f"or remove the entry.")
        if not isinstance(target, str) or "${" in target or not target.startswith(ALLOWED_TARGETS):
            raise ConfigError(f"{where}: '{target}' is not an allowed _target_: Hydra would import and call it. "
                              + fix)
        try:
            located = _locate(target)
        except ImportError as err:
            raise ConfigError(f"{where}: '{target}' cannot be imported ({str(err).splitlines()[0][:200]}). "
                              + fix) from None
        if not inspect.isclass(located):
            raise ConfigError(f"{where}: '{target}' is a {type(located).__name__}, not a class; only classes "
                              f"may be a _target_. " + fix)


def check_cli_targets(argv: list[str], conf_dir: Path) -> None:
    """Compose the config that ``train.py argv`` would run (sweep values aside) and :func:`check_targets` it,
    before Hydra instantiates its callbacks, sweeper or launcher."""
    from hydra import compose, initialize_config_dir
    from hydra._internal.utils import get_args_parser
    from hydra.core.override_parser.overrides_parser import OverridesParser

    args, _ = get_args_parser().parse_known_args(argv)
    if args.help or args.hydra_help or args.info or args.shell_completion:
        return
    try:
        parsed = OverridesParser.create().parse_overrides(args.overrides)
    except Exception:  # noqa: BLE001 - Hydra itself reports a malformed override, with its own message
        return
    overrides = [o.input_line for o in parsed if not o.is_sweep_override()]
    conf_dir = Path(conf_dir).resolve()
    if args.config_path:
        conf_dir = (conf_dir.parent / args.config_path).resolve()
    if args.config_dir:
        overrides.append(f"hydra.searchpath=[file://{Path(args.config_dir).resolve()}]")
    try:
        with initialize_config_dir(config_dir=str(conf_dir), version_base="1.3"):
            cfg = compose(config_name=args.config_name or "config", overrides=overrides, return_hydra_config=True)
    except Exception:  # noqa: BLE001 - a config Hydra cannot compose fails in Hydra next, with its message
        return
    check_targets(cfg)


def check_output_dir(output_dir: Path) -> None:
    """The run's folder can be created and written (checked on the nearest existing folder; nothing is made)."""
    path = Path(output_dir).absolute()
    existing = next(p for p in (path, *path.parents) if p.exists())
    problem = None
    if not existing.is_dir():
        problem = f"'{existing}' is a file, not a folder"
    elif not os.access(existing, os.W_OK | os.X_OK):
        problem = f"'{existing}' is not writable by this user"
    if problem:
        raise ConfigError(f"output_dir: cannot write the run's folder '{path}': {problem}. Choose a folder you can "
                          f"write: output_dir=<folder> or hydra.run.dir=<folder>.")


def check_tracking_store(tcfg) -> None:
    """An ``http(s)://`` tracking server answers a TCP connection within 3 s (MLflow itself retries for
    minutes); a ``sqlite:///`` store's folder exists."""
    from polyglot_distill.tracking.runs import strip_credentials

    if not tcfg.enabled:
        return
    uri = str(tcfg.uri)
    shown = strip_credentials(uri)
    fix = "Start the server, fix tracking.uri (or MLFLOW_TRACKING_URI), or log locally with tracking=none."
    parts = urlsplit(uri)
    if parts.scheme in ("http", "https"):
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            socket.create_connection((parts.hostname, port), timeout=CONNECT_TIMEOUT_S).close()
        except OSError as err:
            raise ConfigError(f"tracking.uri: cannot reach '{shown}' ({err.strerror or err}). {fix}") from None
    elif parts.scheme == "sqlite" and uri.startswith("sqlite:///"):
        folder = Path(uri.removeprefix("sqlite:///")).absolute().parent
        if not folder.is_dir():
            raise ConfigError(f"tracking.uri: the folder of '{shown}' ({folder}) does not exist. Create it or "
                              f"point tracking.uri at a sqlite:///<path>.db in an existing folder.")
