"""Speed benchmark: sentence-transformers' own distillation recipe vs our default configuration, side by side.

One process, one teacher, one student, the same training pairs, batch size and number of steps:

(a) ``st``: sentence-transformers' ``make_multilingual.py`` recipe: teacher labels added with ``datasets.map``
    (batched, ``teacher.encode`` of every English row, 64 per encode batch), one dataset per language pair in a
    ``DatasetDict`` (the proportional multi-dataset sampler), ``MSELoss``, ``SentenceTransformerTrainer`` with the
    recipe's lr 2e-5 and warmup 10 %, fp16 only on CUDA, the full student (all 250k vocabulary rows trainable),
    the model saved at the end; every other setting at its default.
(b) ``ours``: the default configuration (``conf/config.yaml`` plus ``--base`` overrides) through the pipeline's
    own functions: teacher labels of the distinct English sentences, the student loaded as ``models.load_student``
    loads it (vocabulary trimmed to the run's text, word embeddings frozen), the least-squares head,
    ``distill.distill`` (bf16 autocast, length-grouped batches, one dev evaluation and checkpoint).

Rounds alternate (a)(b)(a)(b)... Each prints pairs/s (training pairs / wall seconds from labelling to the trained
student), teacher-encode seconds, peak RSS during that phase (sampled every 20 ms, after returning freed memory
to the OS), the dev selection score, and the student step's model-FLOPs utilisation:
``6 x (weights of the student's Linear layers) x (real, unpadded tokens of the training sentences)`` divided by
the summed wall time of the optimizer steps and by the best bf16 matmul peak sampled through the same run
(attention's own FLOPs and padding are not counted: MFU counts useful work only).

Then: a 4-job sweep (four learning rates) labelling the run's English through one shared teacher cache vs one
job (teacher seconds), and ours on 2x the pairs vs 1x (wall time). ``--precision`` adds ours in fp32,
``--sweep-only`` runs the sweep alone, ``--json PATH`` writes every figure (docs/performance.md).

    .venv/bin/python benchmarks/perf.py --steps 90 --precision --json perf.json
"""
from __future__ import annotations

import argparse
import json
import shlex
import tempfile
import time
from pathlib import Path

import numpy as np
from measure import MatmulPeak, PeakRSS, StepTimer, machine, matmul_weights, real_tokens, release_memory, timed_trainer

ROOT = Path(__file__).resolve().parents[1]


# --- the two recipes ------------------------------------------------------------------------------------------

def st_recipe(cfg, teacher, pairs_by_lang, steps: int, out: Path, timer: StepTimer):
    """(a) make_multilingual.py's recipe; returns (student, teacher seconds)."""
    from datasets import Dataset, DatasetDict
    from sentence_transformers import SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer.losses import MSELoss
    from sentence_transformers.sentence_transformer.training_args import SentenceTransformerTrainingArguments

    from polyglot_distill.models import loading

    student_cfg = cfg.student.copy()
    student_cfg.trim_vocab, student_cfg.freeze_word_embeddings = False, False
    student = loading.load_student(student_cfg, cfg.cache_dir, cfg.hardware.device,
                                  [s for ps in pairs_by_lang.values() for p in ps for s in p], out / "tiny")
    # max_seq_length: the student config's (128 for e5-small, as in the recipe)
    teacher_dim = teacher.get_embedding_dimension()
    if student.get_embedding_dimension() != teacher_dim:  # the recipe pairs students and teachers of equal size
        student = loading.add_projection(student, teacher_dim)
    teacher_seconds = 0.0

    def prepare_dataset(batch):
        nonlocal teacher_seconds
        t0 = time.perf_counter()
        label = teacher.encode(batch["english"], batch_size=64, convert_to_numpy=True)
        teacher_seconds += time.perf_counter() - t0
        return {"english": batch["english"], "non_english": batch["non_english"], "label": label}

    raw = DatasetDict({f"en-{L}": Dataset.from_dict({"english": [en for en, _ in ps], "non_english": [x for _, x in ps]})
                       for L, ps in pairs_by_lang.items()})
    train = raw.map(prepare_dataset, batched=True, batch_size=30000)
    args = SentenceTransformerTrainingArguments(
        output_dir=str(out / "st"), num_train_epochs=1, max_steps=steps,
        per_device_train_batch_size=cfg.optimizer.batch_size, warmup_ratio=0.1, learning_rate=2e-5,
        fp16=cfg.hardware.device == "cuda", bf16=False, eval_strategy="no", save_strategy="steps",
        save_steps=5000, save_total_limit=2, logging_steps=100, report_to="none", disable_tqdm=True,
        use_cpu=cfg.hardware.device == "cpu", seed=cfg.seed)
    trainer = SentenceTransformerTrainer(model=student, args=args, train_dataset=train, loss=MSELoss(student),
                                         callbacks=[timer])
    trainer.train()
    student.save(str(out / "st" / "final"))
    return student, teacher_seconds


def our_labels(teacher, english: list[str], cfg, cache_dir: Path | None):
    """The pipeline's teacher labels; through the shared teacher cache when ``cache_dir`` is given."""
    from polyglot_distill.training import distill

    return distill.TeacherLabels(teacher, english, cfg.teacher.batch_size, cache_dir)


def ours(cfg, teacher, pairs, dev_sets, text, out: Path, timer: StepTimer, label_cache: Path | None = None):
    """(b) our default configuration; returns (student, teacher seconds)."""
    from polyglot_distill.models import loading
    from polyglot_distill.stages import attach_projection
    from polyglot_distill.training import distill

    t0 = time.perf_counter()
    labels = our_labels(teacher, [en for en, _ in pairs], cfg, label_cache)
    teacher_seconds = time.perf_counter() - t0
    student = loading.load_student(cfg.student, cfg.cache_dir, cfg.hardware.device,
                                  [s for p in pairs for s in p], out / "tiny", vocab_sentences=text)
    student = attach_projection(cfg, student, pairs, labels)
    distill.distill(student, pairs, labels, dev_sets, cfg, out, lambda *a, **k: None)
    return student, teacher_seconds


def run_phase(name, fn, model_pairs, dev_sets, enc_batch, peak: MatmulPeak):
    """Run one recipe under the RSS sampler, then sample the matmul peak; returns its figures (MFU is set by
    :func:`set_mfu` at the end, against the run's best peak)."""
    from polyglot_distill.evaluation import scoring
    from polyglot_distill.training import distill

    timer = StepTimer()
    with tempfile.TemporaryDirectory(prefix=f"perf-{name}-") as tmp, PeakRSS() as rss:
        t0 = time.perf_counter()
        with timed_trainer(timer):
            student, teacher_s = fn(Path(tmp), timer)
        wall = time.perf_counter() - t0
    dev = scoring.evaluate(lambda s: distill.encode(student, s, enc_batch), dev_sets)
    flops = 6 * matmul_weights(student) * real_tokens(student, model_pairs)
    row = {"recipe": name, "pairs": len(model_pairs), "wall_s": wall, "pairs_per_s": len(model_pairs) / wall,
           "teacher_encode_s": teacher_s, "peak_rss_gb": rss.peak / 1e9, "start_rss_gb": rss.start / 1e9,
           "dev_selection": dev["selection"], "steps": timer.steps, "step_s": timer.seconds / max(1, timer.steps),
           "model_flops": flops, "step_seconds": timer.seconds, "vocab_rows":
           student[0].auto_model.get_input_embeddings().weight.shape[0]}
    print(f"  {name:5s} {row['pairs_per_s']:8.1f} pairs/s  wall {wall:6.1f} s  teacher {teacher_s:5.1f} s  "
          f"peak RSS {row['peak_rss_gb']:.2f} GB  dev {row['dev_selection']:.4f}  step {row['step_s']:.3f} s  "
          f"{flops / max(timer.seconds, 1e-9) / 1e9:.0f} GFLOP/s  vocab {row['vocab_rows']}", flush=True)
    del student
    release_memory()
    peak.sample()
    return row


def set_mfu(rows: list[dict], peak: MatmulPeak) -> None:
    for row in rows:
        row["mfu"] = row["model_flops"] / max(row["step_seconds"], 1e-9) / peak.best()


# --- main -----------------------------------------------------------------------------------------------------

# our recipe from the plain one (fp32, every weight trained, full vocabulary, random batches, dropout, the
# per-tensor AdamW loop), one option at a time; hardware=cpu_bf16 brings its max_batch_tokens budget along
PLAIN = ["hardware=cpu", "student.freeze_word_embeddings=false", "student.trim_vocab=false",
         "optimizer.length_grouped=false", "distill.dropout=null", "optimizer.fused=false"]
_STEPS = [("+bf16", "hardware=cpu_bf16"), ("+trim", "student.trim_vocab=true"),
          ("+frz", "student.freeze_word_embeddings=true"), ("+lgrp", "optimizer.length_grouped=true"),
          ("+nodrop", "distill.dropout=0"), ("+fused", "optimizer.fused=true")]
# the plain recipe's own step is the ST row's: same fp32 step, full student, random batches
STEP_ABLATION = [(name, [*PLAIN, *(o for _, o in _STEPS[:k + 1])]) for k, (name, _) in enumerate(_STEPS)] + [
    ("frz-notrim", [*PLAIN, "hardware=cpu_bf16", "student.freeze_word_embeddings=true", "optimizer.length_grouped=true"])]


def sweep_figures(teacher, corpus, cfg) -> dict:
    """Teacher time of one job without the cache vs a 4-job sweep labelling through one shared cache.

    A job labels the run's English sentences (every split), as ``pipeline.run`` does; the jobs of a sweep over
    optimizer settings share them. Wall and process CPU seconds are both kept: on a machine shared with other
    work the CPU seconds are the steadier measure."""
    from polyglot_distill.training import distill

    print("sweep: 4 jobs labelling the run's English (all splits) through one shared teacher cache vs one job "
          "without the cache", flush=True)
    english = [en for by in corpus.splits.values() for ps in by.values() for en, _ in ps]

    def seconds(cache_dir):
        wall, cpu = time.perf_counter(), time.process_time()
        labels = distill.TeacherLabels(teacher, english, cfg.teacher.batch_size, cache_dir)
        stats = labels.cache_stats
        return {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu,
                "hits": stats.hits if stats else 0, "misses": stats.misses if stats else len(labels.index)}

    with tempfile.TemporaryDirectory(prefix="perf-cache-") as tmp:
        one = seconds(None)
        jobs = [seconds(Path(tmp)) for _lr in (1e-4, 2e-4, 3e-4, 5e-4)]  # jobs differ in optimizer.lr only
    sweep = {k: sum(job[k] for job in jobs) for k in ("wall_s", "cpu_s")}
    # the sweep's teacher time over one job's: the job that encoded (job 1, measured seconds before the other three,
    # so the machine's load is the same); against a job without the cache too (measured first, more load noise)
    out = {"sweep_teacher_ratio": sweep["wall_s"] / jobs[0]["wall_s"],
           "sweep_vs_uncached_ratio": sweep["wall_s"] / one["wall_s"],
           "sweep_vs_uncached_ratio_cpu": sweep["cpu_s"] / one["cpu_s"],
           "sweep_teacher_s": sweep["wall_s"], "one_job_teacher_s": one["wall_s"], "sweep_jobs": jobs,
           "one_job": one, "english_sentences": len(english), "distinct_english": one["misses"]}
    print(f"  {len(english)} English sentences, {one['misses']} distinct; one job without the cache "
          f"{one['wall_s']:.1f} s ({one['cpu_s']:.1f} CPU s); 4-job sweep {sweep['wall_s']:.1f} s ({sweep['cpu_s']:.1f} "
          f"CPU s), per job " + ", ".join(f"{j['wall_s']:.1f} s ({j['hits']} hits)" for j in jobs)
          + f"; 4 independent runs ~{4 * one['wall_s']:.1f} s", flush=True)
    return out


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", default="", help="Hydra overrides for both recipes' shared setup and for ours")
    p.add_argument("--steps", type=int, default=20, help="training steps per recipe (pairs = steps x batch size)")
    p.add_argument("--rounds", type=int, default=2, help="(a)(b) rounds, alternating")
    p.add_argument("--quick", action="store_true", help="2 steps, 1 round, the tiny student: checks the wiring")
    p.add_argument("--step-ablation", action="store_true",
                   help="also time our recipe from fp32/full/random batches, adding one cheaper-step option at a time")
    p.add_argument("--precision", action="store_true",
                   help="also run ours in fp32 (hardware=cpu): the bf16 default's speed-up and dev score next to it")
    p.add_argument("--sweep-only", action="store_true", help="only the 4-job sweep vs one job (teacher time)")
    p.add_argument("--json", type=Path, help="write every figure here")
    args = p.parse_args(argv)
    base = shlex.split(args.base)
    if args.quick:
        args.steps, args.rounds = 2, 1
        base = ["student=tiny", "data.max_train_pairs=100", "data.max_dev_pairs=20", "data.max_test_pairs=20", *base]

    from hydra import compose, initialize_config_dir

    from polyglot_distill.config.schema import register_configs
    from polyglot_distill.config.validation import validate
    from polyglot_distill.data.corpus import build_corpus
    from polyglot_distill.evaluation import scoring
    from polyglot_distill.models import loading, vocabulary
    from polyglot_distill.stages import seed_everything
    from polyglot_distill.training import distill

    register_configs()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=["tracking=none", "eval.udhr_languages=[]", *base])
        ablation = {name: compose("config", overrides=["tracking=none", "eval.udhr_languages=[]", *base, *extra])
                    for name, extra in STEP_ABLATION} if args.step_ablation else {}
        if args.precision:
            ablation["ours_fp32"] = compose("config", overrides=["tracking=none", "eval.udhr_languages=[]", *base,
                                                                 "hardware=cpu"])
    validate(cfg)
    loading.set_threads(cfg.hardware.threads)
    print(f"machine: {machine()}", flush=True)
    peak = MatmulPeak(seconds=0.5 if args.quick else 3.0, n=256 if args.quick else 2048)
    peak.sample()
    print(f"matmul peak: bf16 {peak.best() / 1e9:.0f} GFLOP/s, fp32 {peak.best('fp32') / 1e9:.0f} GFLOP/s "
          "(sampled again after every phase; MFU uses the best)", flush=True)

    seed_everything(cfg.seed)
    corpus = build_corpus(cfg.data, cfg.languages, cfg.cache_dir)
    langs = list(cfg.languages.targets)
    batch = cfg.optimizer.batch_size

    def take(steps: int, times: int = 1) -> dict[str, list[tuple[str, str]]]:
        per_lang = -(-steps // len(langs)) * batch * times  # whole batches per language: ``times`` x the steps
        chosen = {L: corpus.splits["train"][L][:per_lang] for L in langs}
        short = {L: len(ps) for L, ps in chosen.items() if len(ps) < per_lang}
        if short:
            raise SystemExit(f"--steps {steps} needs {per_lang} training pairs per language; {short} have fewer")
        return chosen

    teacher = loading.load_teacher(cfg.teacher, cfg.cache_dir, cfg.hardware.device)
    if args.sweep_only:
        figures = {"machine": machine(), **sweep_figures(teacher, corpus, cfg)}
        print(f"sweep teacher ratio {figures['sweep_teacher_ratio']:.2f} (against a job without the cache "
              f"{figures['sweep_vs_uncached_ratio']:.2f}, in CPU seconds {figures['sweep_vs_uncached_ratio_cpu']:.2f})")
        if args.json:
            args.json.write_text(json.dumps(figures, indent=1))
        return figures
    dev_labels = distill.TeacherLabels(teacher, [en for ps in corpus.splits["dev"].values() for en, _ in ps],
                                       cfg.teacher.batch_size)
    dev_sets = scoring.build_language_sets(corpus.splits["dev"], dev_labels, cfg.eval.sts_pairs, cfg.seed)
    text = vocabulary.run_text(corpus.splits)
    one_x = take(args.steps)
    pairs = [p for ps in one_x.values() for p in ps]
    steps = len(pairs) // batch
    our_cfg = cfg.copy()
    our_cfg.optimizer.max_steps = steps
    print(f"{len(pairs)} pairs ({len(langs)} languages), batch {batch}, {steps} steps per recipe; "
          f"teacher {cfg.teacher.model}, student {cfg.student.model}", flush=True)

    def run_st(out, timer):
        seed_everything(cfg.seed)
        return st_recipe(cfg, teacher, one_x, steps, out, timer)

    def run_ours(out, timer, cfg_=our_cfg, pairs_=pairs):
        seed_everything(cfg.seed)
        return ours(cfg_, teacher, pairs_, dev_sets, text, out, timer)

    rows = []
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds}", flush=True)
        rows.append(run_phase("st", run_st, pairs, dev_sets, cfg.eval.batch_size, peak))
        rows.append(run_phase("ours", run_ours, pairs, dev_sets, cfg.eval.batch_size, peak))
    sweep = sweep_figures(teacher, corpus, cfg)

    print("scaling: ours on 2x the pairs", flush=True)
    two_x = take(args.steps, times=2)
    pairs2 = [p for ps in two_x.values() for p in ps]
    cfg2 = cfg.copy()
    cfg2.optimizer.max_steps = len(pairs2) // batch
    row2 = run_phase("ours2x", lambda out, timer: run_ours(out, timer, cfg2, pairs2), pairs2, dev_sets,
                     cfg.eval.batch_size, peak)

    step_rows = []
    if ablation:
        print("cheaper step: our recipe, one option added at a time", flush=True)
    for name, vcfg in ablation.items():
        vcfg.optimizer.max_steps = steps
        step_rows.append(run_phase(name, lambda out, timer, c=vcfg: run_ours(out, timer, c), pairs, dev_sets,
                                   cfg.eval.batch_size, peak))

    set_mfu([*rows, row2, *step_rows], peak)
    mean = {name: {k: float(np.mean([row[k] for row in rows if row["recipe"] == name]))
                   for k in ("pairs_per_s", "teacher_encode_s", "peak_rss_gb", "dev_selection", "mfu", "wall_s")}
            for name in ("st", "ours")}
    figures = {
        "machine": machine(), "steps": steps, "pairs": len(pairs), "batch_size": batch, "rounds": rows,
        **peak.figures(),
        "ratio_pairs_per_s": mean["ours"]["pairs_per_s"] / mean["st"]["pairs_per_s"],
        "mfu_ours": mean["ours"]["mfu"], "mfu_st": mean["st"]["mfu"],
        # useful FLOP/s of our step over what one bf16 matmul of the step's own shape reaches
        "ours_vs_step_shape_matmul": mean["ours"]["mfu"] * peak.best() / peak.best("bf16_step_shape"),
        "dev_score_ours": mean["ours"]["dev_selection"], "dev_score_st": mean["st"]["dev_selection"],
        "teacher_encode_s_ours": mean["ours"]["teacher_encode_s"], "teacher_encode_s_st": mean["st"]["teacher_encode_s"],
        "peak_rss_gb_ours": mean["ours"]["peak_rss_gb"], "peak_rss_gb_st": mean["st"]["peak_rss_gb"],
        **sweep,
        "scaling_2x_time_ratio": row2["wall_s"] / mean["ours"]["wall_s"], "scaling_2x_dev_score": row2["dev_selection"],
        "scaling_2x": row2, "step_ablation": step_rows,
    }
    fp32 = [row for row in step_rows if row["recipe"] == "ours_fp32"]
    if fp32:
        figures["bf16_speedup"] = mean["ours"]["pairs_per_s"] / fp32[0]["pairs_per_s"]
        figures["dev_score_ours_fp32"] = fp32[0]["dev_selection"]
        print(f"precision: bf16 {figures['bf16_speedup']:.2f}x the pairs/s of fp32; dev {figures['dev_score_ours']:.4f} "
              f"(bf16) vs {figures['dev_score_ours_fp32']:.4f} (fp32)")
    print(f"\n(b)/(a): {figures['ratio_pairs_per_s']:.2f}x pairs/s; dev {figures['dev_score_ours']:.4f} vs "
          f"{figures['dev_score_st']:.4f}; MFU ours {100 * figures['mfu_ours']:.1f} % (ST "
          f"{100 * figures['mfu_st']:.1f} %) of the best bf16 peak, {figures['matmul_peak_bf16_gflops']:.0f} GFLOP/s "
          f"(samples from {min(figures['matmul_peak_bf16_samples_gflops']):.0f}; a matmul of the step's shape "
          f"reaches {figures['matmul_bf16_step_shape_gflops']:.0f}, "
          f"ours {100 * figures['ours_vs_step_shape_matmul']:.0f} % of that); sweep teacher ratio "
          f"{figures['sweep_teacher_ratio']:.2f}; 2x pairs cost {figures['scaling_2x_time_ratio']:.2f}x time")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return figures


if __name__ == "__main__":
    main()
