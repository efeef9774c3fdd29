"""Shared fixtures: a hermetic offline environment, Hydra composition, the CLI and the MLflow store.

Environment (set when this file is imported, i.e. before any test module imports ``huggingface_hub``,
which reads ``HF_HUB_OFFLINE`` once at import, and before ``torch`` reads ``OMP_NUM_THREADS``):

- ``HF_HUB_OFFLINE=1`` and ``TOKENIZERS_PARALLELISM=false``, always;
- ``POLYGLOT_DISTILL_CACHE``: kept when already set (CI sets ``.cache/polyglot-distill`` to reuse the converted
  e5 model), else ``<repo>/.cache/polyglot-distill`` (git-ignored). A relative value is taken relative to the
  repository root and made absolute, so subprocesses started in a temporary folder share the same cache;
  ``tests/unit/models/assets/test_e5.py`` reads the same variable;
- ``OMP_NUM_THREADS=1`` unless already set: the tiny models of the tests gain nothing from threads, and on a
  shared 2-core machine torch's default (all cores) makes a training step ~20x slower through spin-waiting;
- ``MLFLOW_TRACKING_URI``, ``MLFLOW_RUN_ID`` and ``MLFLOW_EXPERIMENT_*`` are removed, so no test can log into a
  store it did not create.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers.cli import train_cli
from helpers.paths import CONF, REPO

DEFAULT_CACHE = REPO / ".cache" / "polyglot-distill"

_MLFLOW_VARS = ("MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID")


def _cache_dir() -> str:
    value = os.environ.get("POLYGLOT_DISTILL_CACHE")
    if not value:
        return str(DEFAULT_CACHE)
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else (REPO / path).resolve())


TEST_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "POLYGLOT_DISTILL_CACHE": _cache_dir(),
    "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS") or "1",
}
os.environ.update(TEST_ENV)
for _name in _MLFLOW_VARS:
    os.environ.pop(_name, None)


@pytest.fixture(scope="session", autouse=True)
def offline_env():
    """The environment above, re-asserted for the whole session (a test may not leak a change into the next)."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in TEST_ENV.items():
            mp.setenv(key, value)
        for key in _MLFLOW_VARS:
            mp.delenv(key, raising=False)
        Path(TEST_ENV["POLYGLOT_DISTILL_CACHE"]).mkdir(parents=True, exist_ok=True)
        yield dict(TEST_ENV)


@pytest.fixture(autouse=True)
def _no_mlflow_env(monkeypatch):
    """``tracked_run`` pops ``MLFLOW_RUN_ID`` from the environment: make every test start without it."""
    for key in _MLFLOW_VARS:
        monkeypatch.delenv(key, raising=False)


@pytest.fixture
def compose():
    """``compose(overrides) -> DictConfig``: ``conf/config.yaml`` composed as ``train.py`` does (typed schema)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from polyglot_distill.config.schema import register_configs

    register_configs()

    def _compose(overrides=(), return_hydra_config: bool = False):
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3", job_name="tests"):
            return hydra_compose(config_name="config", overrides=list(overrides),
                                 return_hydra_config=return_hydra_config)

    return _compose


@pytest.fixture
def compose_evaluate():
    """``compose_evaluate(overrides) -> DictConfig``: ``conf/evaluate.yaml`` composed as ``evaluate.py`` does."""
    from hydra import compose, initialize_config_dir

    from polyglot_distill.config.schema import register_configs

    register_configs()

    def _compose(overrides=()):
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3", job_name="tests"):
            return compose(config_name="evaluate", overrides=list(overrides))

    return _compose


@pytest.fixture
def cli(tmp_path):
    """``cli(*overrides, cwd=None, timeout=...)``: run ``train.py`` as a subprocess, as a user would, in
    ``tmp_path`` (:func:`helpers.cli.train_cli`)."""
    return train_cli(tmp_path)


@pytest.fixture(scope="session")
def _empty_store_template(tmp_path_factory) -> Path:
    """An empty MLflow SQLite store at the current schema, made once per session: creating a store runs MLflow's
    schema migrations (measured: 15.6 s on the shared 2-core machine under load; copying the file: 0.35 s)."""
    import contextlib

    from mlflow.tracking import MlflowClient

    folder = tmp_path_factory.mktemp("empty-store")
    with contextlib.chdir(folder):  # the Default experiment's ./mlruns resolves here, never in the repository
        MlflowClient(f"sqlite:///{folder / 'mlflow.db'}").search_experiments()
    return folder / "mlflow.db"


@pytest.fixture
def mlflow_store(_empty_store_template, tmp_path) -> Path:
    """``<tmp_path>/mlflow.db``: a new, empty MLflow store (a copy of the session's template), for
    ``tracking.uri=sqlite:///...`` in tests that log in-process."""
    import shutil

    path = tmp_path / "mlflow.db"
    shutil.copyfile(_empty_store_template, path)
    return path


@pytest.fixture
def mlflow_runs():
    """``mlflow_runs(db_path, experiment="polyglot-distill") -> list[Run]`` ([] when no db or no experiment).

    Never creates the database: a missing file means nothing was logged.
    """

    def _runs(db_path: Path, experiment: str = "polyglot-distill"):
        if not Path(db_path).exists():
            return []
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=f"sqlite:///{db_path}")
        exp = client.get_experiment_by_name(experiment)
        if exp is None:
            return []
        return client.search_runs([exp.experiment_id])

    return _runs


@pytest.fixture
def empty_hf_cache(tmp_path, monkeypatch):
    """An empty Hugging Face cache, for this process and the CLI it starts: a model cached on the machine would
    (rightly) load offline."""
    from huggingface_hub import constants

    cache = tmp_path / "empty-hf-cache"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return cache


_ADJ = [("small", "kleine", "petit"), ("old", "alte", "vieux"), ("red", "rote", "rouge"),
        ("quiet", "ruhige", "calme"), ("new", "neue", "nouveau"), ("cold", "kalte", "froid")]
_NOUN = [("house", "Haus", "maison"), ("garden", "Garten", "jardin"), ("train", "Zug", "train"),
         ("letter", "Brief", "lettre"), ("bridge", "Brücke", "pont"), ("window", "Fenster", "fenêtre")]


@pytest.fixture(scope="session")
def quick_tsv(tmp_path_factory) -> list[str]:
    """Overrides that read a small synthetic en-de/en-fr corpus (``data=tsv``, 1,200 pairs a language) instead of
    the machine's gettext catalogs: the same smoke run, ~5 s sooner (parsing the catalogs of two languages).
    For tests of the run's machinery (resume, signals, concurrency), not of the data."""
    folder = tmp_path_factory.mktemp("quick-tsv")
    for col, lang in ((1, "de"), (2, "fr")):
        lines = []
        for k in range(1200):
            adj, noun = _ADJ[k % len(_ADJ)], _NOUN[(k // len(_ADJ)) % len(_NOUN)]
            lines.append(f"The {adj[0]} {noun[0]} number {k} is here.\t{noun[col]} {adj[col]} {k} ({lang}).\n")
        (folder / f"en-{lang}.tsv").write_text("".join(lines))
    return ["data=tsv", f'data.tsv_pattern="{folder}/en-{{lang}}.tsv"']


@pytest.fixture
def sts_datasets_cache(tmp_path, monkeypatch):
    """``datasets``' cache holding stsb_multi_mt (en, de, fr) and mteb/sts17-crosslingual-sts (en-de, en-en, fr-en),
    built from tests/assets/sts_sample.tsv (helpers.sts), as a download would leave them."""
    import datasets
    from helpers.sts import sts_hub_cache

    cache = sts_hub_cache(tmp_path)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(cache))
    return cache

