"""evaluation.standalone (what evaluate.py runs), in-process: the evaluate config composes with the eval group, bad
input fails before any model loads, and a bundled model is scored on STS sets and logged as an evaluation run. The
command itself is tests/e2e/test_evaluate.py."""
from __future__ import annotations

import csv

import pytest
from helpers.paths import ASSETS

SAMPLE = ASSETS / "sts_sample.tsv"


def test_the_evaluate_config_composes_with_the_eval_group(compose_evaluate):
    from omegaconf import OmegaConf

    from polyglot_distill.config.schema import EvalConfig, EvaluateConfig

    cfg = compose_evaluate(["model=e5-small", "eval=[offline,stsb_multi,sts17,udhr_zero_shot]"])
    assert OmegaConf.get_type(cfg) is EvaluateConfig and OmegaConf.get_type(cfg.eval) is EvalConfig
    assert cfg.eval.stsb_multi.enabled and cfg.eval.sts17.enabled and list(cfg.eval.udhr_languages) == ["all"]
    assert isinstance(OmegaConf.to_object(cfg), EvaluateConfig)


@pytest.mark.parametrize(("overrides", "phrases"), [
    (["model=bundled:nope"], ["model", "'bundled:nope' is not a bundled model", "bundled:e5-small"]),
    (["model=/nonexistent/model"], ["model", "'/nonexistent/model' does not exist"]),
    (["model=sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2"],
     ["model: 'sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2' is a Hugging Face Hub id",
      "not in the local Hugging Face cache", "bundled:e5-small", "bundled:minilm-l6"]),
    (["model=e5-small", "eval=[offline,stsb_multi]", "eval.stsb_multi.languages=[xx]"],
     ["eval.stsb_multi.languages", "'xx' is not a language of stsb_multi_mt"]),
], ids=["unknown-bundled", "missing-folder", "hub-id-offline", "stsb-language"])
def test_bad_input_fails_before_any_model_loads(tmp_path, compose_evaluate, monkeypatch, overrides, phrases):
    from huggingface_hub import constants

    from polyglot_distill.errors import ConfigError
    from polyglot_distill.evaluation.standalone import run

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-hf-cache"))  # a cached model would load
    cfg = compose_evaluate([*overrides, "tracking=none", "eval.splits=[]", "eval.udhr_languages=[]"])
    with pytest.raises(ConfigError) as err:
        run(cfg, tmp_path / "out")
    for phrase in phrases:
        assert phrase in str(err.value), str(err.value)
    assert not (tmp_path / "out").exists()


def test_a_bundled_model_on_stsb_multi_and_local_files_logs_an_evaluation_run(tmp_path, compose_evaluate,
                                                                              mlflow_runs, monkeypatch, mlflow_store):
    """The teacher's own model, scored on stsb_multi_mt (a save_to_disk copy in the real schema) and a local CSV."""
    import datasets

    from polyglot_distill.evaluation.standalone import run

    with SAMPLE.open(newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    features = datasets.Features({"sentence1": datasets.Value("string"), "sentence2": datasets.Value("string"),
                                  "similarity_score": datasets.Value("float32")})
    for lang in ("en", "de"):
        table = {"sentence1": [r[f"{lang}1"] for r in rows], "sentence2": [r[f"{lang}2"] for r in rows],
                 "similarity_score": [float(r["score"]) for r in rows]}
        datasets.DatasetDict({s: datasets.Dataset.from_dict(table, features=features) for s in ("train", "dev", "test")}
                             ).save_to_disk(str(tmp_path / "stsb" / lang))
    with (tmp_path / "mine-en.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["sentence1", "sentence2", "score"])
        writer.writerows([r["en1"], r["en2"], float(r["score"]) / 5] for r in rows)  # a 0-1 scale
    monkeypatch.chdir(tmp_path)
    db = mlflow_store
    cfg = compose_evaluate([
        "model=minilm-l6", "eval=[stsb_multi,local_sts]", f'eval.stsb_multi.dataset="{tmp_path}/stsb/{{subset}}"',
        "languages.targets=[de]", 'eval.local_sts.path_pattern="mine-{name}.csv"', "eval.local_sts.names=[en]",
        "eval.local_sts.score_max=1", "eval.splits=[]", f"tracking.uri=sqlite:///{db}"])
    metrics = run(cfg, tmp_path / "out", choices={"eval": "[stsb_multi, local_sts]"})
    (logged,) = mlflow_runs(db)
    assert logged.info.status == "FINISHED"
    assert logged.data.tags["run_type"] == "evaluation" and logged.data.tags["evaluated_model"] == "minilm-l6"
    for name in ("sts/en", "sts/de", "sts/en-de", "sts_local/en"):
        assert logged.data.metrics[f"{name}/spearman"] == pytest.approx(metrics[f"{name}/spearman"])
        # the model is the teacher itself: its ceiling is the same number
        assert metrics[f"baseline/teacher/{name}/spearman"] == pytest.approx(metrics[f"{name}/spearman"], abs=1e-6)
    assert metrics["sts/en/spearman"] > 0.8 and metrics["sts_local/en/spearman"] == pytest.approx(
        metrics["sts/en/spearman"], abs=1e-6)  # the same pairs, the scale divided away
    assert (tmp_path / "out" / "sts_results.csv").exists()
