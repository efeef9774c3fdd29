"""Results of a run as per-language tables (printed, CSV, JSON) and before/after charts (PNG)."""
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


def results_rows(metrics: dict[str, float], langs: list[str], prefix: str = "",
                 means: tuple[str, ...] = ("mean",)) -> list[dict]:
    """One row per (language, metric) with the baselines and the final (test split) value.

    ``prefix`` selects a family of metrics (``udhr/``); ``means`` are the summary rows (``mean_trained``...)."""
    rows = []
    for lang in [*langs, *means]:
        for family, suffix in METRICS:
            key = prefix + (f"{lang}/{family}/{suffix}" if lang in means else metric_key(family, lang, suffix))
            row = {"language": lang, "metric": f"{family}/{suffix}"}
            for column in COLUMNS:
                name = key if column == "final" else f"{column}/{key}"
                row[column] = metrics.get(name)
            if any(row[c] is not None for c in COLUMNS):
                rows.append(row)
    return rows


def _cell(value) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.3f}"


def format_table(rows: list[dict], labels: dict[str, str] | None = None) -> str:
    """Aligned text; a column empty in every row is left out, ``labels`` renames column headers."""
    columns = [c for c in COLUMNS if any(r[c] is not None for r in rows)] or COLUMNS
    header = ["language", "metric", *((labels or {}).get(c, c) for c in columns)]
    cells = [[r["language"], r["metric"], *(_cell(r[c]) for c in columns)] for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *cells)]
    line = lambda xs: "  ".join(str(x).ljust(w) for x, w in zip(xs, widths))  # noqa: E731
    return "\n".join([line(header), line("-" * w for w in widths), *map(line, cells)])


def write_results(rows: list[dict], metrics: dict[str, float], folder: Path, stem: str = "results") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = folder / f"{stem}.csv", folder / f"{stem}.json"
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


def plot_zero_shot(metrics: dict[str, float], langs: list[str], trained: list[str], path: Path,
                   family: str = "teacher_retrieval") -> Path:
    """UDHR teacher-space retrieval per language, trained languages first: untrained, least-squares head,
    distilled student and the teacher on the translation, with the chance level. Above 60 languages, one
    sorted bar per language instead (:func:`plot_zero_shot_many`)."""
    if len(langs) > 60:
        return plot_zero_shot_many(metrics, langs, trained, path, family)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    key = lambda prefix, L: prefix + "udhr/" + metric_key(family, L, "accuracy")  # noqa: E731
    order = [L for L in langs if L in trained] + sorted((L for L in langs if L not in trained),
                                                        key=lambda L: -metrics.get(key("", L), 0.0))
    series = [("baseline/student/", "untrained", "#bbbbbb"), ("baseline/lstsq/", "least-squares head", "#88aadd"),
              ("", "distilled", "#2255aa"), ("baseline/teacher/", "teacher on xx", "#dd8844")]
    fig, ax = plt.subplots(figsize=(max(7.0, 0.42 * len(order) + 1.5), 4.6))
    x = np.arange(len(order))
    width = 0.8 / len(series)
    for k, (prefix, label, color) in enumerate(series):
        ax.bar(x + (k - len(series) / 2 + 0.5) * width, [metrics.get(key(prefix, L), np.nan) for L in order],
               width, label=label, color=color)
    if trained and len(order) > len([L for L in order if L in trained]):
        ax.axvline(len([L for L in order if L in trained]) - 0.5, color="black", lw=0.8, ls="--")
    ax.axhline(1 / 55, color="#aa3333", lw=0.8, ls=":", label="chance (~1/55)")
    ax.set_xticks(x, order, rotation=60, fontsize=8)
    ax.set_ylim(0, 1.0)
    ax.set_ylabel("teacher-space retrieval T(en) ↔ S(xx)")
    ax.set_title("UDHR zero-shot: trained languages left of the dashed line, never trained right", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=5, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def benchmark_rows(metrics: dict[str, float], names: list[str]) -> list[dict]:
    """One row per STS benchmark set (``sts/de``, ``sts17/en-de``...): its Spearman before and after training."""
    rows = []
    for name in names:
        family, _, lang = name.partition("/")
        row = {"language": lang, "metric": f"{family}/spearman"}
        for column in COLUMNS:
            row[column] = metrics.get(f"{name}/spearman" if column == "final" else f"{column}/{name}/spearman")
        if any(row[c] is not None for c in COLUMNS):
            rows.append(row)
    return rows


def report_benchmarks(metrics: dict[str, float], names: list[str], folder: Path,
                      labels: dict[str, str] | None = None) -> list[Path]:
    """Print the STS benchmarks' table and write ``sts_results.csv``/``.json`` (nothing when none ran)."""
    rows = benchmark_rows(metrics, names)
    if not rows:
        return []
    print("STS benchmarks, human scores (Spearman of cosine similarity):\n" + format_table(rows, labels) + "\n")
    return write_results(rows, metrics, folder, "sts_results")


def plot_zero_shot_many(metrics: dict[str, float], langs: list[str], trained: list[str], path: Path,
                        family: str = "teacher_retrieval") -> Path:
    """Hundreds of UDHR languages: the model's retrieval per language, sorted, trained languages in another
    colour, the teacher's score on the same language as a dot, and the trained/unseen means as lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    key = lambda prefix, L: f"{prefix}udhr/{metric_key(family, L, 'accuracy')}"  # noqa: E731
    order = sorted(langs, key=lambda L: -metrics.get(key("", L), 0.0))
    values = np.array([metrics.get(key("", L), np.nan) for L in order])
    x = np.arange(len(order))
    fig, ax = plt.subplots(figsize=(14, 5))
    colors = ["#dd3333" if L in trained else "#2255aa" for L in order]
    ax.bar(x, values, 1.0, color=colors, linewidth=0)
    teacher = np.array([metrics.get(key("baseline/teacher/", L), np.nan) for L in order])
    if np.isfinite(teacher).any():
        ax.plot(x, teacher, ".", color="#dd8844", ms=2.5, label="teacher on the same language")
    for group, color, label in [("mean_unseen", "#2255aa", "unseen"), ("mean_trained", "#dd3333", "trained")]:
        mean = metrics.get(f"udhr/{group}/{family}/accuracy")
        if mean is not None:
            n = sum((L in trained) == (group == "mean_trained") for L in langs)
            ax.axhline(mean, color=color, lw=1, ls="--", label=f"mean of {n} {label} languages: {mean:.3f}")
    ax.axhline(1 / 55, color="#aa3333", lw=0.8, ls=":", label="chance (~1/55)")
    step = max(1, len(order) // 60)
    ax.set_xticks(x[::step], order[::step], rotation=90, fontsize=6)
    ax.set_xlim(-1, len(order))
    ax.set_ylim(0, 1.0)
    ax.set_ylabel(f"UDHR {family.replace('_', ' ')} (en ↔ xx)")
    ax.set_title(f"UDHR zero-shot in {len(order)} languages, sorted; red: the run's languages (every "
                 f"{step}th label shown)", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
