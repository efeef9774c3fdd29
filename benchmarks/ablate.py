"""Recipe ablation: train several config variants from one shared setup and compare them per language.

Loads the corpus, the teacher labels and the student once, then for each variant (a set of Hydra overrides)
restores the same initial student, distils with the real ``distill.distill`` and scores dev and test.
A variant may lower ``data.max_train_pairs`` below the base's: it trains on the first pairs of each
language in the corpus's stable order, exactly the pairs that cap gives a full run.

    .venv/bin/python benchmarks/ablate.py --base "optimizer.max_steps=100" \
        --variant seed "" --variant head_lr "optimizer.head_lr=1e-3"
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import shlex
import tempfile
import time
from pathlib import Path

from hydra import compose, initialize_config_dir

from polyglot_distill.config.schema import register_configs
from polyglot_distill.config.validation import validate
from polyglot_distill.data.corpus import build_corpus
from polyglot_distill.evaluation import scoring
from polyglot_distill.models import loading, vocabulary
from polyglot_distill.stages import attach_projection, seed_everything
from polyglot_distill.training import distill

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="", help="overrides shared by every variant")
    parser.add_argument("--variant", nargs=2, action="append", metavar=("NAME", "OVERRIDES"), required=True)
    parser.add_argument("--json", type=Path, help="write all results here")
    parser.add_argument("--dry-run", action="store_true", help="compose every variant's config and stop")
    args = parser.parse_args()

    register_configs()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        base_cfg = compose("config", overrides=shlex.split(args.base))
        variants = {name: compose("config", overrides=shlex.split(args.base) + shlex.split(ov))
                    for name, ov in args.variant}
    for vcfg in variants.values():
        validate(vcfg)
    if args.dry_run:
        print(f"{len(variants)} variants compose: {', '.join(variants)}")
        return
    cfg = base_cfg
    seed_everything(cfg.seed)
    corpus = build_corpus(cfg.data, cfg.languages, cfg.cache_dir)
    langs = list(cfg.languages.targets)
    teacher = loading.load_teacher(cfg.teacher, cfg.cache_dir)
    all_english = [en for by in corpus.splits.values() for p in by.values() for en, _ in p]
    labels = distill.TeacherLabels(teacher, all_english, cfg.teacher.batch_size)
    del teacher
    train_pairs = [p for L in langs for p in corpus.splits["train"][L]]
    sets = {s: scoring.build_language_sets(corpus.splits[s], labels, cfg.eval.sts_pairs, cfg.seed)
            for s in ("dev", "test")}
    text = vocabulary.run_text(corpus.splits)  # student.trim_vocab keeps the pieces of every split
    base_student = loading.load_student(cfg.student, cfg.cache_dir, "cpu",
                                       [s for p in train_pairs for s in p], tempfile.mkdtemp(), text)
    enc = lambda m: (lambda s: distill.encode(m, s, cfg.eval.batch_size))  # noqa: E731
    results = {"untrained": scoring.evaluate(enc(base_student), sets["test"])}
    base_state = copy.deepcopy(base_student.state_dict())
    initial: dict[str, dict] = {}  # one initial head per distinct projection setting

    def initial_student(vcfg):
        key = f"{vcfg.student.projection}/{vcfg.student.projection_init}/{vcfg.student.projection_ridge}"
        base_student.load_state_dict(base_state)
        if key not in initial:
            seed_everything(vcfg.seed)
            s0 = attach_projection(vcfg, base_student, train_pairs, labels)
            initial[key] = copy.deepcopy(s0.state_dict())
            results[f"init {key}"] = scoring.evaluate(enc(s0), sets["test"])
        student = loading.load_student(vcfg.student, vcfg.cache_dir, "cpu", [s for p in train_pairs for s in p],
                                      tempfile.mkdtemp(), text)
        if any(k.startswith("2.") or ".linear." in k for k in initial[key]):  # has a Dense head
            student = loading.add_projection(student, labels.dim)
        student.load_state_dict(initial[key])
        return student

    for name, vcfg in variants.items():
        cap = vcfg.data.max_train_pairs if vcfg.data.max_train_pairs > 0 else None
        if cfg.data.max_train_pairs > 0 and (cap is None or cap > cfg.data.max_train_pairs):
            raise SystemExit(f"variant {name}: data.max_train_pairs={cap} exceeds the base's "
                             f"{cfg.data.max_train_pairs}; raise it in --base")
        variant_pairs = [p for L in langs for p in corpus.splits["train"][L][:cap]]
        student = initial_student(vcfg)
        seed_everything(vcfg.seed)
        if vcfg.student.freeze_word_embeddings:
            loading.freeze_word_embeddings(student)
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as out:
            facts = distill.distill(student, variant_pairs, labels, sets["dev"], vcfg, Path(out), lambda *a, **k: None)
        seconds = time.perf_counter() - t0
        results[name] = {**scoring.evaluate(enc(student), sets["test"]),
                         "train_seconds": seconds, "best_step": facts["best_step"], "steps": facts["steps"],
                         "train_pairs": len(variant_pairs),
                         "dev_history": [{k: h[k] for k in ("step", "selection", "mean/retrieval/accuracy")}
                                         for h in facts["dev_history"]]}
        print(f"[{name}] {len(variant_pairs)} pairs, {facts['steps']} steps, {seconds:.0f}s best_step={facts['best_step']} " + summary(results[name], langs), flush=True)

    print("\nvariant          " + "  ".join(f"{L:>14}" for L in langs) + "   mean tr/sts/ret")
    for name, m in results.items():
        print(f"{name:16s} {summary(m, langs)}")
    if args.json:
        args.json.write_text(json.dumps({"base": args.base, "variants": dict(args.variant), "results": results},
                                        indent=1))


def summary(m: dict, langs: list[str]) -> str:
    cells = []
    for L in langs:
        cells.append(f"{m.get(f'teacher_retrieval/en-{L}/accuracy', float('nan')):.2f}/"
                     f"{m[f'sts_teacher/en-{L}/spearman']:.2f}/{m[f'retrieval/en-{L}/accuracy']:.2f}")
    return "  ".join(cells) + (f"   {m.get('mean/teacher_retrieval/accuracy', float('nan')):.3f}/"
                               f"{m['mean/sts_teacher/spearman']:.3f}/{m['mean/retrieval/accuracy']:.3f}")


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
