"""How far the student's training step is from the bf16 matmul peak, by batch size and precision.

Outside the Trainer, on real batches of the run's training pairs: the pairs sorted by their padded length in a
merged batch (``batching.pair_token_lengths``), ``--windows`` runs of consecutive pairs taken from the middle of
equal strata of that order (every length in proportion; the same pairs at every batch size), each cut into batches,
so padding is lower than the sampler's (which sorts within shuffled chunks); the recipe's loss
(``loss.PairMSELoss``: one forward for both columns) against random unit targets, backward, gradient clipping
and fused AdamW at lr 0 (the weights stay put), with the run's trimmed vocabulary, frozen word embeddings, dropout
and attention kernels. ``--precision`` picks bf16 autocast over fp32 weights (the default recipe's) or every weight
in bf16 with no autocast (no casts at all: an upper bound, not a recipe: updating bf16 weights needs fp32 master
copies). For each batch size: seconds per step, milliseconds per pair, useful GFLOP/s (``6 x Linear weights x real
tokens``, as ``perf.py`` counts) and that as a share of the best 2048^3 bf16 matmul peak sampled before and after
(docs/performance.md).

    .venv/bin/python benchmarks/step_scan.py --batch-sizes 32,64,128,256 --precision autocast
"""
from __future__ import annotations

import argparse
import shlex
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from measure import machine, matmul_peak, matmul_weights

ROOT = Path(__file__).resolve().parents[1]


def windows(order: np.ndarray, width: int, count: int) -> list[np.ndarray]:
    """``count`` runs of ``width`` consecutive pairs of the length order, one from the middle of each of ``count``
    equal strata: every length of the run in proportion, the same pairs for every batch size."""
    starts = (((np.arange(count) + 0.5) / count) * (len(order) - width)).astype(int)
    return [order[s:s + width] for s in starts]


def batches(student, pairs, runs: list[np.ndarray], size: int) -> list[tuple]:
    """Each run cut into batches of ``size`` pairs: (the two columns' features, real tokens)."""
    out = []
    for run in runs:
        for k in range(0, len(run) - size + 1, size):
            chosen = [pairs[i] for i in run[k:k + size]]
            columns = [student.preprocess([p[c] for p in chosen]) for c in (0, 1)]
            out.append((columns, int(sum(c["attention_mask"].sum() for c in columns))))
    return out


def timed_steps(student, params, optimizer, work, autocast: bool) -> tuple[float, int]:
    """Seconds for one optimizer step per batch of ``work`` (the recipe's ``PairMSELoss`` against random unit
    targets), and the real tokens they ran."""
    from polyglot_distill.training.loss import PairMSELoss

    loss_fn, dim, dtype = PairMSELoss(student), student.get_embedding_dimension(), params[0].dtype
    t0, tokens = time.perf_counter(), 0
    for columns, real in work:
        target = torch.nn.functional.normalize(torch.randn(len(columns[0]["input_ids"]), dim), dim=-1).to(dtype)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            loss = loss_fn([dict(c) for c in columns], target)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad()
        tokens += real
    return time.perf_counter() - t0, tokens


def batch_sizes(text: str) -> list[int]:
    try:
        sizes = [int(x) for x in text.split(",")]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give positive whole numbers of pairs, comma-separated, e.g. 32,64")
    return sizes


def main(argv: list[str] | None = None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch-sizes", type=batch_sizes, default="32,64,128", help="pairs per step, comma-separated")
    p.add_argument("--precision", choices=("autocast", "bf16"), default="autocast",
                   help="autocast: bf16 autocast over fp32 weights (the recipe's); bf16: every weight in bf16")
    p.add_argument("--windows", type=int, default=6,
                   help="runs of (largest batch size) consecutive pairs, spread over the lengths, timed at every size")
    p.add_argument("--base", default="", help="Hydra overrides for the run whose pairs and student are used")
    p.add_argument("--quick", action="store_true", help="the tiny student, small batches: checks the wiring")
    args = p.parse_args(argv)
    base = shlex.split(args.base)
    sizes = args.batch_sizes
    if args.quick:
        base, sizes, args.windows = ["student=tiny", "data.max_train_pairs=100", *base], [4, 8], 2

    from hydra import compose, initialize_config_dir

    from polyglot_distill.config.schema import register_configs
    from polyglot_distill.config.validation import validate
    from polyglot_distill.data.corpus import build_corpus
    from polyglot_distill.models import loading, vocabulary
    from polyglot_distill.training import distill
    from polyglot_distill.training.batching import pair_token_lengths

    register_configs()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=["tracking=none", "eval.udhr_languages=[]", *base])
    validate(cfg)
    loading.set_threads(cfg.hardware.threads)
    corpus = build_corpus(cfg.data, cfg.languages, cfg.cache_dir)
    pairs = [pair for ps in corpus.splits["train"].values() for pair in ps]
    if max(sizes) * args.windows > len(pairs):
        raise SystemExit(f"--batch-sizes/--windows: {args.windows} runs of {max(sizes)} pairs, but the run has "
                         f"{len(pairs)} training pairs; ask for fewer")
    with tempfile.TemporaryDirectory(prefix="step-scan-") as tiny:  # only the tiny student is built there
        student = loading.load_student(cfg.student, cfg.cache_dir, "cpu", [s for p in pairs for s in p], Path(tiny),
                                      vocab_sentences=vocabulary.run_text(corpus.splits))
    if cfg.distill.dropout is not None:
        distill.set_dropout(student, cfg.distill.dropout)
    if args.precision == "bf16":
        student.to(torch.bfloat16)
    student.train()
    params = [q for q in student.parameters() if q.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=0.0, fused=True)
    weights = matmul_weights(student)
    lengths = pair_token_lengths(student.tokenizer, pairs, student.max_seq_length)
    order = np.argsort(lengths, kind="stable")
    print(f"machine: {machine()}; {len(pairs)} pairs, student {cfg.student.name}, precision {args.precision}",
          flush=True)
    # --quick: a 256^3 peak, as perf.py --quick (the tiny student's matmuls are that small; a CPU without native
    # bf16 takes ~40 s for one 2048^3 bf16 matmul, whose 0.4 GFLOP/s put the tiny steps at "900 % MFU" in CI)
    peak_seconds, peak_n = (0.5, 256) if args.quick else (3.0, 2048)
    peaks = [matmul_peak(torch.bfloat16, n=peak_n, seconds=peak_seconds)]
    runs = windows(order, max(sizes), args.windows)
    rows = []
    with distill.attention_kernels("cpu"):
        for size in sizes:
            work = batches(student, pairs, runs, size)
            timed_steps(student, params, optimizer, work[:1], args.precision == "autocast")  # warm-up
            seconds, tokens = min((timed_steps(student, params, optimizer, work, args.precision == "autocast")
                                   for _ in range(2)), key=lambda r: r[0])
            rows.append({"batch_size": size, "step_s": seconds / len(work),
                         "ms_per_pair": 1e3 * seconds / (len(work) * size),
                         "useful_gflops": 6 * weights * tokens / seconds / 1e9})
    peaks.append(matmul_peak(torch.bfloat16, n=peak_n, seconds=peak_seconds))
    peak = max(peaks) / 1e9
    print(f"bf16 matmul peak {peak:.0f} GFLOP/s (best of {', '.join(f'{x / 1e9:.0f}' for x in peaks)})")
    print(f"{'batch':>6} {'step s':>8} {'ms/pair':>8} {'GFLOP/s':>8} {'MFU':>7}")
    for row in rows:
        row["mfu"] = row["useful_gflops"] / peak
        print(f"{row['batch_size']:>6} {row['step_s']:>8.3f} {row['ms_per_pair']:>8.2f} {row['useful_gflops']:>8.0f} "
              f"{100 * row['mfu']:>6.1f} %")
    return rows


if __name__ == "__main__":
    main()
