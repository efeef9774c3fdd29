"""A sweep's summary: every job's choices and per-language test scores as a table (CSV, Markdown) and charts.

Built from the sweep's child runs in MLflow (their ``choice.<group>`` tags, params and final metrics), so it
reads the same whichever launcher ran the jobs. Written by :mod:`polyglot_distill.tracking.sweep` into the sweep
directory (``multirun/<date>/<time>/``) and logged on the parent run:

- ``summary.csv``: one row per job (choices, swept values, status, ``selection``, ``mean/...`` and every
  ``<family>/en-<L>/<stat>`` score);
- ``summary.md``: the jobs table, then one jobs × languages table per metric, then the charts;
- ``summary_scores.png``: per-language scores of every job, one panel per metric;
- ``summary_teacher_retrieval.png``: languages × jobs heatmap of teacher-space retrieval.
"""
from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from polyglot_distill.evaluation.report import metric_key

FAMILIES = [("teacher_retrieval", "accuracy"), ("sts_teacher", "spearman"), ("retrieval", "accuracy")]
CSV_NAME, MD_NAME = "summary.csv", "summary.md"
SCORES_PNG, HEATMAP_PNG = "summary_scores.png", "summary_teacher_retrieval.png"


@dataclass
class Job:
    """One job of the sweep as its MLflow child run recorded it."""

    num: int | None
    run_id: str
    run_name: str
    status: str
    choices: dict[str, str]
    swept: dict[str, str]
    metrics: dict[str, float] = field(default_factory=dict)
    error: str = ""

    @property
    def label(self) -> str:
        """``#0 languages=de``: the job number and the values this job's swept keys took."""
        head = f"#{self.num}" if self.num is not None else self.run_name
        return " ".join([head, *(f"{k}={v}" for k, v in self.swept.items())])


def jobs_from_runs(runs, swept_keys: list[str]) -> list[Job]:
    """The child runs (``mlflow.entities.Run``) as jobs, in Hydra's job order.

    A swept key's value is the run's ``choice.<key>`` tag for a config group (``languages=de,eurasia4``), else
    its param of that name (``optimizer.lr=1e-3,1e-4``)."""
    jobs = []
    for run in runs:
        tags, params = run.data.tags, run.data.params
        num = tags.get("sweep.job", "")
        jobs.append(Job(
            num=int(num) if num.isdigit() else None,
            run_id=run.info.run_id,
            run_name=run.info.run_name or "",
            status=run.info.status,
            choices={k.removeprefix("choice."): v for k, v in sorted(tags.items()) if k.startswith("choice.")},
            swept={key: tags.get(f"choice.{key.lstrip('+~')}", params.get(key.lstrip("+~"), "")) for key in swept_keys},
            metrics=dict(run.data.metrics),
            error=tags.get("error", ""),
        ))
    return sorted(jobs, key=lambda j: (j.num is None, j.num or 0, j.run_name))


def languages(jobs: list[Job]) -> list[str]:
    """Every target language with a test score in some job, in first-seen order."""
    seen: dict[str, None] = {}
    patterns = [re.compile(rf"^{family}/en-(.+)/{stat}$") for family, stat in FAMILIES]
    for job in jobs:
        for key in job.metrics:
            for pattern in patterns:
                if match := pattern.match(key):
                    seen.setdefault(match.group(1))
    return list(seen)


def _columns(jobs: list[Job], langs: list[str]) -> tuple[list[str], list[str], list[str]]:
    """(choice groups, swept keys that are not groups, metric keys) of the table."""
    groups = sorted({g for j in jobs for g in j.choices})
    swept = [k for k in (jobs[0].swept if jobs else {}) if k.lstrip("+~") not in groups]
    means = sorted({k for j in jobs for k in j.metrics if k.startswith("mean/")})
    scores = [metric_key(family, lang, stat) for family, stat in FAMILIES for lang in langs]
    return groups, swept, ["selection", *means, *scores]


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def write_csv(jobs: list[Job], langs: list[str], path: Path) -> Path:
    groups, swept, metrics = _columns(jobs, langs)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["job", "run_name", "run_id", "status", *(f"choice.{g}" for g in groups), *swept,
                         *metrics, "error"])
        for job in jobs:
            writer.writerow([job.num, job.run_name, job.run_id, job.status, *(job.choices.get(g, "") for g in groups),
                             *(job.swept.get(k, "") for k in swept), *(job.metrics.get(m) for m in metrics),
                             job.error])
    return path


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    cell = lambda x: str(x).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    return ["| " + " | ".join(map(cell, header)) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(map(cell, row)) + " |" for row in rows), ""]


def write_markdown(jobs: list[Job], langs: list[str], path: Path, facts: dict[str, str]) -> Path:
    """``facts``: what heads the page (overrides, directory, parent run, status...), in order."""
    groups, swept, _ = _columns(jobs, langs)
    means = sorted({k for j in jobs for k in j.metrics if k.startswith("mean/")})
    failed = [j for j in jobs if j.status != "FINISHED"]
    lines = ["# Sweep summary", "", *(f"- {k}: {v}" for k, v in facts.items()),
             f"- jobs: {len(jobs)} ({len(jobs) - len(failed)} finished, {len(failed)} failed)", "", "## Jobs", ""]
    lines += _md_table(["job", "status", *groups, *swept, "selection", *means],
                       [[j.label, j.status, *(j.choices.get(g, "") for g in groups),
                         *(j.swept.get(k, "") for k in swept), _fmt(j.metrics.get("selection")),
                         *(_fmt(j.metrics.get(m)) for m in means)] for j in jobs])
    for family, stat in FAMILIES:
        lines += [f"## {family}/{stat} (test split)", ""]
        lines += _md_table(["job", *(f"en-{L}" for L in langs), "mean"],
                           [[j.label, *(_fmt(j.metrics.get(metric_key(family, L, stat))) for L in langs),
                             _fmt(j.metrics.get(f"mean/{family}/{stat}"))] for j in jobs])
    if failed:
        lines += ["## Failed jobs", ""]
        lines += _md_table(["job", "run", "error"], [[j.label, j.run_id, j.error or "(no error recorded)"]
                                                     for j in failed])
    lines += ["## Charts", "", f"![per-language scores of every job]({SCORES_PNG})", "",
              f"![teacher-space retrieval, languages x jobs]({HEATMAP_PNG})", ""]
    path.write_text("\n".join(lines))
    return path


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_scores(jobs: list[Job], langs: list[str], path: Path) -> Path:
    """One panel per metric: per language, one bar per job (a failed job's bars are missing)."""
    import numpy as np

    plt = _plt()
    fig, axes = plt.subplots(1, len(FAMILIES), figsize=(max(12.0, 1.2 * len(langs) * len(FAMILIES) + 3), 4.4),
                             sharey=True)
    x = np.arange(len(langs))
    width = 0.8 / max(1, len(jobs))
    colors = plt.get_cmap("tab10" if len(jobs) <= 10 else "tab20")
    for ax, (family, stat) in zip(axes, FAMILIES):
        for k, job in enumerate(jobs):
            values = [job.metrics.get(metric_key(family, L, stat), np.nan) for L in langs]
            ax.bar(x + (k - len(jobs) / 2 + 0.5) * width, values, width, color=colors(k % colors.N),
                   label=job.label + ("" if job.status == "FINISHED" else f" ({job.status.lower()})"))
        ax.set_xticks(x, langs)
        ax.set_title(f"{family}/{stat}", fontsize=10)
        ax.set_ylim(min(0.0, ax.get_ylim()[0]), 1.0)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("test split")
    ncol = min(len(jobs), 4) or 1
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=ncol, fontsize=8, frameon=False)
    rows = math.ceil(len(jobs) / ncol)
    fig.tight_layout(rect=(0, min(0.5, 0.06 * rows + 0.02), 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_heatmap(jobs: list[Job], langs: list[str], path: Path, family: str = "teacher_retrieval",
                 stat: str = "accuracy") -> Path:
    """Languages (rows) × jobs (columns), the cell coloured and labelled by the job's test score."""
    import numpy as np

    plt = _plt()
    grid = np.array([[job.metrics.get(metric_key(family, L, stat), np.nan) for job in jobs] for L in langs],
                    dtype=float).reshape(len(langs), len(jobs))
    fig, ax = plt.subplots(figsize=(max(5.0, 1.1 * len(jobs) + 2.5), max(3.0, 0.45 * len(langs) + 2.0)))
    if grid.size == 0:
        ax.text(0.5, 0.5, "no scores", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return path
    cmap = plt.get_cmap("viridis").with_extremes(bad="#dddddd")
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto")
    for (i, j), value in np.ndenumerate(grid):
        ax.text(j, i, "failed" if jobs[j].status != "FINISHED" else ("-" if math.isnan(value) else f"{value:.2f}"),
                ha="center", va="center", fontsize=8, color="black" if math.isnan(value) or value > 0.6 else "white")
    ax.set_xticks(range(len(jobs)), [job.label for job in jobs], rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(langs)), [f"en-{L}" for L in langs])
    ax.set_title(f"{family}/{stat} (test split)", fontsize=10)
    fig.colorbar(image, ax=ax, fraction=0.05)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_summary(runs, swept_keys: list[str], folder: Path, facts: dict[str, str]) -> list[Path]:
    """Every summary file into ``folder`` (created if missing); returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    jobs = jobs_from_runs(runs, swept_keys)
    langs = languages(jobs)
    return [write_csv(jobs, langs, folder / CSV_NAME), write_markdown(jobs, langs, folder / MD_NAME, facts),
            plot_scores(jobs, langs, folder / SCORES_PNG), plot_heatmap(jobs, langs, folder / HEATMAP_PNG)]
