"""Results of a run as a per-language table (printed, CSV, JSON) and a before/after chart (PNG)."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

METRICS = [
    ("teacher_retrieval", "accuracy"),
    ("sts_teacher", "spearman"),
    ("retrieval", "accuracy"),
    ("mse", "mse"),
]
COLUMNS = ["baseline/student", "baseline/lstsq", "baseline/teacher", "final"]


def metric_key(family: str, lang: str, suffix: str) -> str:
    return f"{family}/en-{lang}/{suffix}"


def results_rows(metrics: dict[str, float], langs: list[str]) -> list[dict]:
    """One row per (language, metric) with the baselines and the final (test split) value."""
    rows = []
    for lang in [*langs, "mean"]:
        for family, suffix in METRICS:
            key = f"mean/{family}/{suffix}" if lang == "mean" else metric_key(family, lang, suffix)
            row = {"language": lang, "metric": f"{family}/{suffix}"}
            for column in COLUMNS:
                name = key if column == "final" else f"{column}/{key}"
                row[column] = metrics.get(name)
            if any(row[c] is not None for c in COLUMNS):
                rows.append(row)
    return rows


def _cell(value) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.3f}"


def format_table(rows: list[dict]) -> str:
    header = ["language", "metric", *COLUMNS]
    cells = [[r["language"], r["metric"], *(_cell(r[c]) for c in COLUMNS)] for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *cells)]
    line = lambda xs: "  ".join(str(x).ljust(w) for x, w in zip(xs, widths))  # noqa: E731
    return "\n".join([line(header), line("-" * w for w in widths), *map(line, cells)])


def write_results(rows: list[dict], metrics: dict[str, float], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = folder / "results.csv", folder / "results.json"
    with csv_path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["language", "metric", *COLUMNS])
        writer.writeheader()
        writer.writerows(rows)
    finite = {k: v for k, v in metrics.items() if v is not None and math.isfinite(v)}
    rows = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()} for r in rows]
    json_path.write_text(json.dumps({"rows": rows, "metrics": finite}, indent=2, sort_keys=True, allow_nan=False))
    return [csv_path, json_path]


def plot_before_after(metrics: dict[str, float], langs: list[str], path: Path) -> Path:
    """Grouped bars per language: untrained student, least-squares head, distilled student, teacher ceiling."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    panels = [("teacher_retrieval", "accuracy", "teacher-space retrieval (T(en) ↔ S(xx))"),
              ("sts_teacher", "spearman", "teacher-referenced STS (en × xx)"),
              ("retrieval", "accuracy", "student retrieval (S(en) ↔ S(xx))")]
    series = [("baseline/student", "untrained", "#bbbbbb"), ("baseline/lstsq", "least-squares head", "#88aadd"),
              ("final", "distilled", "#2255aa"), ("baseline/teacher", "teacher on xx", "#dd8844")]
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), sharey=True)
    x = np.arange(len(langs))
    width = 0.8 / len(series)
    for ax, (family, suffix, title) in zip(axes, panels):
        for k, (prefix, label, color) in enumerate(series):
            key = lambda L: metric_key(family, L, suffix) if prefix == "final" else f"{prefix}/{metric_key(family, L, suffix)}"  # noqa: E731
            values = [metrics.get(key(L), np.nan) for L in langs]
            ax.bar(x + (k - len(series) / 2 + 0.5) * width, values, width, label=label, color=color)
        ax.set_xticks(x, langs)
        ax.set_title(title, fontsize=10)
        ax.set_ylim(min(0, *(v for v in ax.get_ylim())), 1.0)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("test split")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(series), fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
