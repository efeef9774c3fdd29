"""What a run scores and how it reports it, shared by ``train.py`` (the distilled student and its baselines) and
``evaluate.py`` (any model as it is): the held-out splits, the UDHR languages and the STS benchmarks; then the
results tables (printed, CSV, JSON), the charts and the resolved config, logged as artifacts.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from omegaconf import DictConfig, OmegaConf

from polyglot_distill.evaluation import report, scoring, sts_benchmarks, zero_shot

Encode = Callable[[list[str]], np.ndarray]


def prefixed(prefix: str, metrics: dict[str, float]) -> dict[str, float]:
    return {f"{prefix}/{k}": v for k, v in metrics.items()}


def encoder(model, batch_size: int) -> Encode:
    """``model``'s embeddings as they are (no autocast), ``batch_size`` sentences at a time."""
    from polyglot_distill.training import distill

    return functools.partial(distill.encode, model, batch_size=batch_size)


@dataclass
class EvalSuite:
    """The scored sets of a run: held-out splits by name (``dev``, ``test``), UDHR languages, STS tasks."""

    splits: dict[str, list[scoring.LanguageSet]]
    udhr: list[scoring.LanguageSet]
    sts: list[sts_benchmarks.StsTask]
    trained: list[str]  # the run's languages: UDHR means are reported for them and for the others apart

    def held_out(self, encode: Encode, split: str, desc: str, teacher_side: bool = False) -> dict[str, float]:
        """One held-out split; ``test`` unprefixed (the reported scores), another split under ``<split>/``."""
        fn = scoring.evaluate_teacher if teacher_side else scoring.evaluate
        scores = fn(encode, self.splits[split], desc)
        return scores if split == "test" else prefixed(split, scores)

    def sentences(self, splits, udhr_and_sts: bool = True) -> list[str]:
        """Every sentence :meth:`score` (``udhr_and_sts``) or :meth:`held_out` encodes for ``splits``."""
        sets = [ls for split in splits for ls in self.splits[split]] + (self.udhr if udhr_and_sts else [])
        return [s for ls in sets for s in (*ls.english, *ls.translations)] \
            + (sts_benchmarks.sentences(self.sts) if udhr_and_sts else [])

    def score(self, encode: Encode, desc: str, splits, teacher_side: bool = False) -> dict[str, float]:
        """The held-out ``splits``, then the UDHR languages (trained and unseen) and the STS benchmarks.

        ``teacher_side``: ``encode`` is the teacher, scored on the translations against its own English."""
        metrics: dict[str, float] = {}
        for split in splits:
            metrics |= self.held_out(encode, split, f"{desc}, {split}", teacher_side)
        return metrics | zero_shot.evaluate(encode, self.udhr, self.trained, teacher_side, f"{desc}, UDHR") \
            | sts_benchmarks.evaluate(encode, self.sts, f"{desc}, STS benchmarks")


def build_suite(held_out: dict[str, list[tuple[str, str]]], label_held_out, udhr_pairs, encode_teacher: Encode,
                sts_tasks, trained: list[str], eval_cfg, seed: int) -> EvalSuite:
    """``held_out``: split -> language -> pairs, their English labelled by ``label_held_out`` (the run's teacher
    labels, or the teacher's encoder); the UDHR paragraphs are encoded by ``encode_teacher``."""
    return EvalSuite(
        splits={split: scoring.build_language_sets(pairs, label_held_out, eval_cfg.sts_pairs, seed)
                for split, pairs in held_out.items()},
        udhr=zero_shot.build_sets(udhr_pairs, encode_teacher, eval_cfg.sts_pairs, seed),
        sts=list(sts_tasks), trained=list(trained))


@dataclass(frozen=True)
class Layout:
    """How the tables and charts are titled: a distilled student beside its baselines, or one scored model."""

    labels: dict[str, str] | None  # column headers (None: the metric prefixes)
    test_title: str
    udhr_title: str  # ``{n}``: the number of UDHR languages
    udhr_family: str  # the UDHR chart's metric family
    before_after: bool  # the before/after chart of the held-out test pairs
    skip_empty: bool  # no held-out table when no held-out split was scored

    @classmethod
    def distilled(cls) -> Layout:
        return cls(None, "", "UDHR zero-shot (test):", "teacher_retrieval", before_after=True, skip_empty=False)

    @classmethod
    def evaluated(cls, name: str) -> Layout:
        # the model's own en <-> xx retrieval in the UDHR chart: a pretrained model does not live in the teacher's
        # space
        return cls({"final": name, "baseline/teacher": "teacher"}, "Held-out test pairs:",
                   "UDHR zero-shot, {n} languages:", "retrieval", before_after=False, skip_empty=True)


def write_reports(metrics: dict[str, float], suite: EvalSuite, output_dir: Path, tracker, layout: Layout) -> None:
    """Print the tables of the held-out test pairs, the UDHR and the STS benchmarks; write them (CSV, JSON) and
    their charts (PNG) into ``output_dir`` and log each as an artifact."""
    langs = suite.trained
    rows = report.results_rows(metrics, langs)
    if rows or not layout.skip_empty:
        title = f"{layout.test_title}\n" if layout.test_title else ""
        print("\n" + title + report.format_table(rows, layout.labels) + "\n")
        for path in report.write_results(rows, metrics, output_dir):
            tracker.log_artifact(path)
    if layout.before_after:
        tracker.log_artifact(report.plot_before_after(metrics, langs, output_dir / "before_after.png"))
    if suite.udhr:
        udhr_langs = [ls.lang for ls in suite.udhr]
        udhr_rows = report.results_rows(metrics, udhr_langs, "udhr/", ("mean_trained", "mean_unseen"))
        print(layout.udhr_title.format(n=len(udhr_langs)) + "\n" + report.format_table(udhr_rows, layout.labels)
              + "\n")
        for path in report.write_results(udhr_rows, metrics, output_dir, "udhr_results"):
            tracker.log_artifact(path)
        tracker.log_artifact(report.plot_zero_shot(metrics, udhr_langs, langs, output_dir / "udhr_zero_shot.png",
                                                   family=layout.udhr_family))
    for path in report.report_benchmarks(metrics, [t.name for t in suite.sts], output_dir, layout.labels):
        tracker.log_artifact(path)


def save_resolved_config(cfg: DictConfig, output_dir: Path, tracker) -> None:
    """``config_resolved.yaml``: the run's config with every interpolation resolved, written and logged."""
    (output_dir / "config_resolved.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    tracker.log_artifact(output_dir / "config_resolved.yaml")
