"""How well a tokenizer covers each language: the seed's argument for a multilingual student, measured.

Per language and tokenizer: the unknown-token rate (share of tokens that are the unknown token), tokens per
whitespace word and per non-space character, and the share of sentences longer than ``max_seq_length`` tokens
(special tokens included), which the model truncates. An English WordPiece vocabulary maps most Chinese
characters to [UNK]; XLM-R's SentencePiece has a piece for nearly all of them.

    python -m polyglot_distill.evaluation.tokenizer_report --languages zh el ka ar     # UDHR text, bundled models

``train.py`` runs the same report on the training corpus before it trains (``tokenizer_report.csv`` in the run
folder and in MLflow, ``tokenizer/...`` metrics) and warns where the student's unknown-token rate is above
``eval.max_unk_rate`` or its truncated share above ``eval.max_truncated``.
"""
from __future__ import annotations

import argparse
import csv
import logging
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)

COLUMNS = ["language", "tokenizer", "sentences", "unk_rate", "tokens_per_word", "tokens_per_char", "truncated"]
SHORT_NAMES = {"minilm-l6": "bundled:minilm-l6", "e5-small": "bundled:e5-small", "mpnet-base": "bundled:mpnet-base"}


def tokenizer_stats(tokenizer, sentences: list[str], max_seq_length: int) -> dict[str, float]:
    """Coverage of ``sentences`` by a Hugging Face ``tokenizer`` (see the module's docstring)."""
    ids = tokenizer(sentences, add_special_tokens=False)["input_ids"]
    n_tokens = sum(len(x) for x in ids)
    unk = tokenizer.unk_token_id
    special = tokenizer.num_special_tokens_to_add(pair=False)
    words = sum(len(s.split()) for s in sentences)
    chars = sum(len("".join(s.split())) for s in sentences)
    return {
        "sentences": len(sentences),
        "unk_rate": sum(t == unk for x in ids for t in x) / max(n_tokens, 1) if unk is not None else 0.0,
        "tokens_per_word": n_tokens / max(words, 1),
        "tokens_per_char": n_tokens / max(chars, 1),
        "truncated": sum(len(x) + special > max_seq_length for x in ids) / max(len(ids), 1),
    }


def build_report(tokenizers: dict[str, tuple[object, int]], texts: dict[str, list[str]]) -> list[dict]:
    """One row per (language, tokenizer); ``tokenizers`` maps a role (student, teacher) to (tokenizer, max length)."""
    rows = []
    for lang, sentences in texts.items():
        for role, (tokenizer, max_len) in tokenizers.items():
            rows.append({"language": lang, "tokenizer": role, **tokenizer_stats(tokenizer, sentences, max_len)})
    return rows


def format_report(rows: list[dict]) -> str:
    cells = [[str(r["language"]), r["tokenizer"], str(r["sentences"]), f"{r['unk_rate']:.2%}",
              f"{r['tokens_per_word']:.2f}", f"{r['tokens_per_char']:.2f}", f"{r['truncated']:.1%}"] for r in rows]
    widths = [max(len(x) for x in col) for col in zip(COLUMNS, *cells)]
    line = lambda xs: "  ".join(x.ljust(w) for x, w in zip(xs, widths))  # noqa: E731
    return "\n".join([line(COLUMNS), line("-" * w for w in widths), *map(line, cells)])


def write_csv(rows: list[dict], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def as_metrics(rows: list[dict]) -> dict[str, float]:
    """``tokenizer/<role>/<lang>/<stat>`` for MLflow."""
    return {f"tokenizer/{r['tokenizer']}/{r['language']}/{k}": float(r[k])
            for r in rows for k in ("unk_rate", "tokens_per_word", "tokens_per_char", "truncated")}


def warnings_for(rows: list[dict], max_unk_rate: float, max_truncated: float, role: str = "student") -> list[str]:
    out = []
    for r in rows:
        if r["tokenizer"] != role:
            continue
        if r["unk_rate"] > max_unk_rate:
            out.append(f"{role} tokenizer: {r['unk_rate']:.1%} unknown tokens on '{r['language']}' (above "
                       f"eval.max_unk_rate={max_unk_rate:g}): those words carry no information to the model; "
                       f"use a student whose vocabulary covers the language")
        if r["truncated"] > max_truncated:
            out.append(f"{role} tokenizer: {r['truncated']:.1%} of '{r['language']}' sentences exceed "
                       f"max_seq_length and are truncated (above eval.max_truncated={max_truncated:g}); raise "
                       f"student.max_seq_length or shorten data.max_chars")
    return out


def write_report(teacher, student, pairs_by_lang: dict[str, list[tuple[str, str]]], cfg, output_dir: Path,
              tracker) -> list[dict]:
    """The run's report on its training pairs (English side: ``en``), saved, logged, and warned about."""
    texts = {"en": sorted({en for pairs in pairs_by_lang.values() for en, _ in pairs})}
    texts |= {L: [xx for _, xx in pairs] for L, pairs in pairs_by_lang.items()}
    rows = build_report({"student": (student.tokenizer, student.max_seq_length),
                         "teacher": (teacher.tokenizer, teacher.max_seq_length)}, texts)
    tracker.log_artifact(write_csv(rows, output_dir / "tokenizer_report.csv"))
    tracker.log_metrics(as_metrics(rows))
    for message in warnings_for(rows, cfg.eval.max_unk_rate, cfg.eval.max_truncated):
        log.warning(message)
    return rows


def load_tokenizer(spec: str, cache_dir: str):
    """The tokenizer of a model spec: a bundled name (``e5-small``, ``bundled:minilm-l6``), a folder or a Hub id."""
    from transformers import AutoTokenizer

    from polyglot_distill.errors import ConfigError
    from polyglot_distill.hub_access import hub_reachable
    from polyglot_distill.models import loading

    spec = SHORT_NAMES.get(spec, spec)
    if spec.startswith("bundled:"):
        return AutoTokenizer.from_pretrained(str(loading.bundled_path(spec.removeprefix("bundled:"), "model",
                                                                      cache_dir)))
    if loading.is_local_spec(spec):
        return AutoTokenizer.from_pretrained(str(Path(spec).expanduser()))
    if not loading.in_hub_cache(spec) and not hub_reachable():
        raise ConfigError(loading.offline_message("model", spec, {**loading.BUNDLED_TEACHERS,
                                                                         **loading.BUNDLED_STUDENTS}))
    return AutoTokenizer.from_pretrained(spec)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(prog="python -m polyglot_distill.evaluation.tokenizer_report",
                                     description="Per-language tokenizer coverage of a teacher and a student.")
    parser.add_argument("--teacher", default="minilm-l6", help="model spec (bundled name, folder or Hub id)")
    parser.add_argument("--student", default="e5-small", help="model spec (bundled name, folder or Hub id)")
    parser.add_argument("--languages", nargs="+", default=["zh", "el", "ka", "ar"],
                        help="UDHR language tags (docs/metrics.md); their declarations are the text")
    parser.add_argument("--max-seq-length", type=int, default=128, help="truncation length of both models")
    parser.add_argument("--out", type=Path, default=None, help="also write the table as CSV here")
    parser.add_argument("--cache-dir", default=os.environ.get("POLYGLOT_DISTILL_CACHE", ".cache/polyglot-distill"))
    args = parser.parse_args(argv)

    from polyglot_distill.data import udhr
    from polyglot_distill.errors import ConfigError

    try:
        available = udhr.aligned_languages(args.cache_dir)
        texts = {}
        for tag in args.languages:
            resolved = udhr.resolve_tag(tag, available)
            if resolved is None:
                raise ConfigError(f"--languages: '{tag}' is not a language of the UDHR package. Use a BCP 47 tag "
                                  f"of its declarations (docs/metrics.md).")
            texts[tag] = [xx for _, xx in available[resolved]]
        tokenizers = {"student": (load_tokenizer(args.student, args.cache_dir), args.max_seq_length),
                      "teacher": (load_tokenizer(args.teacher, args.cache_dir), args.max_seq_length)}
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    rows = build_report(tokenizers, texts)
    print(f"student {args.student} vs teacher {args.teacher} on the UDHR ({', '.join(texts)}):")
    print(format_report(rows))
    if args.out:
        print(f"written to {write_csv(rows, args.out)}")
    return rows


if __name__ == "__main__":
    main()
