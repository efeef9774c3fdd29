"""Secure defaults: no secret in MLflow params, tags or artifacts; trust_remote_code off unless asked (and then
tagged); no pickle loaded from files; ``_target_`` limited to classes of the project and its libraries."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers.paths import REPO

from polyglot_distill.config import safety
from polyglot_distill.errors import ConfigError
from polyglot_distill.tracking import runs

SECRET = "s3cr3t-pw"


def test_credentials_never_reach_params_tags_or_artifacts(tmp_path, compose, mlflow_runs, monkeypatch):
    db = tmp_path / "mlflow.db"
    # a URL with credentials from the environment (as MLFLOW_TRACKING_URI or a data location would carry them)
    monkeypatch.setenv("PD_TEST_SOURCE", f"https://alice:{SECRET}@data.example/en-{{lang}}.tsv")
    cfg = compose(["experiment=smoke", "data=tsv", "data.tsv_pattern=${oc.env:PD_TEST_SOURCE}",
                   f"tracking.uri=sqlite:///{db}", "tracking.system_metrics=false"])
    hydra_dir = tmp_path / ".hydra"
    hydra_dir.mkdir()
    (hydra_dir / "overrides.yaml").write_text(f"- tracking.uri=http://bob:{SECRET}@tracking.example:5000\n")
    resolved = tmp_path / "config_resolved.yaml"
    resolved.write_text(f"data:\n  tsv_pattern: https://alice:{SECRET}@data.example/en-{{lang}}.tsv\n")
    with runs.tracked_run(cfg, {}, tmp_path) as tracker:
        tracker.log_artifact(resolved)
        tracker.log_artifacts(hydra_dir, "hydra")
    run = mlflow_runs(db)[0]
    assert run.data.params["data.tsv_pattern"] == "https://data.example/en-{lang}.tsv"
    assert not any(SECRET in v for v in [*run.data.params.values(), *run.data.tags.values()])
    from mlflow.artifacts import download_artifacts

    local = Path(download_artifacts(run_id=run.info.run_id, dst_path=str(tmp_path / "dl"),
                                    tracking_uri=f"sqlite:///{db}"))
    texts = {p.relative_to(local).as_posix(): p.read_text() for p in local.rglob("*") if p.is_file()}
    assert set(texts) == {"config_resolved.yaml", "hydra/overrides.yaml"}
    assert not any(SECRET in t for t in texts.values()), texts
    assert "http://tracking.example:5000" in texts["hydra/overrides.yaml"]
    assert SECRET in resolved.read_text(), "the local file stays as it is (resume= compares against it)"


def test_flatten_drops_secret_keys_and_strips_urls(compose):
    cfg = compose(["experiment=smoke", "+data.api_token=abc", "tracking.uri=https://u:p@host.example/mlflow"])
    params = runs.flatten(cfg)
    assert "data.api_token" not in params
    assert params["tracking.uri"] == "https://host.example/mlflow"


def test_trust_remote_code_is_off_by_default_and_tagged_when_on(tmp_path, compose, mlflow_runs):
    for group in ("teacher", "student"):
        for option in sorted(p.stem for p in (REPO / "conf" / group).glob("*.yaml")):
            assert compose([f"{group}={option}"])[group].trust_remote_code is False, f"{group}={option}"
    db = tmp_path / "mlflow.db"
    cfg = compose(["experiment=smoke", "teacher.trust_remote_code=true", f"tracking.uri=sqlite:///{db}",
                   "tracking.system_metrics=false"])
    with runs.tracked_run(cfg, {}, tmp_path):
        pass
    run = mlflow_runs(db)[0]
    assert run.data.tags["trust_remote_code"] == "teacher"
    assert run.data.params["teacher.trust_remote_code"] == "True"


def test_trust_remote_code_turned_on_is_logged(compose, caplog):
    from polyglot_distill.models import loading

    assert _calls(r"trust_remote_code\s*=\s*True", OURS[:2]) == [], "trust_remote_code hard-wired on"
    cfg = compose(["teacher.trust_remote_code=true"])
    with caplog.at_level("WARNING", logger="polyglot_distill.models.loading"):
        loading.load_teacher(cfg.teacher, cfg.cache_dir)
    assert "teacher.model: trust_remote_code is on: code from 'bundled:minilm-l6' will run in this process" \
        in caplog.text


def _calls(pattern: str, roots: list[Path]) -> list[str]:
    found = []
    for root in roots:
        for path in sorted(root.rglob("*.py")) if root.is_dir() else [root]:
            for k, line in enumerate(path.read_text().splitlines(), 1):
                if re.search(pattern, line):
                    found.append(f"{path}:{k}: {line.strip()}")
    return found


OURS = [REPO / "src", REPO / "benchmarks", REPO / "tests", *REPO.glob("*.py")]


def test_no_pickle_is_loaded_from_files():
    """Our code never unpickles (NumPy files are read with pickles refused); the Trainer's resume loads
    optimizer/scheduler/RNG with weights_only=True."""
    pattern = (r"\b(pickle|joblib|dill|cloudpickle)\.loads?\(|\bUnpickler\(|torch\.load\(|read_pickle\("
               r"|allow_pickle\s*=\s*True")
    assert _calls(pattern, OURS) == []
    import transformers

    text = (Path(transformers.__file__).parent / "trainer.py").read_text()
    calls = [_call_at(text, m.end()) for m in re.finditer(r"torch\.load\(", text)]
    assert calls, "transformers' Trainer no longer calls torch.load: check how it resumes"
    assert [c for c in calls if "weights_only=True" not in c] == []


def _call_at(text: str, start: int) -> str:
    """The arguments of the call whose opening parenthesis ends at ``start``."""
    depth = 1
    for end in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[end], 0)
        if depth == 0:
            return text[start:end]
    return text[start:]


@pytest.mark.parametrize("overrides", [["-m", "hparams_search=optuna"], ["-m", "hydra/launcher=joblib"],
                                       ["experiment=smoke"]])
def test_the_projects_own_targets_are_allowed(overrides):
    safety.check_cli_targets(overrides, REPO / "conf")


@pytest.mark.parametrize(("target", "why"), [("os.system", "not an allowed _target_"),
                                             ("builtins.eval", "not an allowed _target_"),
                                             ("torch.load", "is a function, not a class"),
                                             ("${oc.env:EVIL}", "not an allowed _target_"),
                                             ("polyglot_distill.nothing.Here", "cannot be imported")])
def test_targets_outside_the_allowlist_are_refused(target, why):
    from omegaconf import OmegaConf

    with pytest.raises(ConfigError, match=re.escape(why)):
        safety.check_targets(OmegaConf.create({"hydra": {"callbacks": {"x": {"_target_": target}}}}))
