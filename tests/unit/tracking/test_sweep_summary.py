"""A sweep's summary (summary.csv, summary.md and charts) from its child runs, on fake runs. The real sweeps are
tests/e2e/test_sweep.py."""
from __future__ import annotations

import csv
import math
from types import SimpleNamespace

from helpers.sweeps import SUMMARY

from polyglot_distill.tracking import sweep_summary


def _fake_run(job, status, lang=None, score=None, error=None, lr="0.001"):
    metrics = {}
    if lang:
        metrics = {f"teacher_retrieval/en-{lang}/accuracy": score, f"sts_teacher/en-{lang}/spearman": score / 2,
                   f"retrieval/en-{lang}/accuracy": score / 3, "selection": score,
                   "mean/teacher_retrieval/accuracy": score,
                   f"baseline/teacher/teacher_retrieval/en-{lang}/accuracy": 0.5}
    tags = {"sweep.job": str(job), "choice.student": "tiny", "choice.languages": "de"}
    tags |= {"error": error} if error else {}
    return SimpleNamespace(info=SimpleNamespace(run_id=f"run{job}", run_name=f"name{job}", status=status),
                           data=SimpleNamespace(tags=tags, params={"optimizer.lr": lr}, metrics=metrics))


def test_summary_tables_and_charts_from_child_runs(tmp_path):
    runs = [_fake_run(2, "FAILED", error="ConfigError: bad | value"), _fake_run(1, "FINISHED", "fr", 0.6, lr="0.01"),
            _fake_run(0, "FINISHED", "de", 0.9)]
    paths = sweep_summary.write_summary(runs, ["optimizer.lr"], tmp_path / "sweep", {"overrides": "`x`"})
    assert sorted(p.name for p in paths) == sorted(SUMMARY) and all(p.parent == tmp_path / "sweep" for p in paths)
    rows = list(csv.DictReader((tmp_path / "sweep" / "summary.csv").open()))
    assert [r["job"] for r in rows] == ["0", "1", "2"]  # Hydra's job order, not the store's
    assert [r["optimizer.lr"] for r in rows] == ["0.001", "0.01", "0.001"]
    assert [r["status"] for r in rows] == ["FINISHED", "FINISHED", "FAILED"]
    assert float(rows[0]["teacher_retrieval/en-de/accuracy"]) == 0.9
    assert rows[0]["teacher_retrieval/en-fr/accuracy"] == ""
    assert math.isclose(float(rows[1]["sts_teacher/en-fr/spearman"]), 0.3)
    assert rows[2]["error"] == "ConfigError: bad | value" and rows[2]["selection"] == ""
    assert not any(k.startswith("baseline/") for k in rows[0])  # final test scores only
    md = (tmp_path / "sweep" / "summary.md").read_text()
    assert "| #0 optimizer.lr=0.001 | 0.9000 |  | 0.9000 |" in md  # teacher_retrieval: de, fr, mean
    assert "ConfigError: bad \\| value" in md  # a pipe in a value does not break the table
    assert "- jobs: 3 (2 finished, 1 failed)" in md and "## Failed jobs" in md
    import matplotlib.image

    for png in ("summary_scores.png", "summary_teacher_retrieval.png"):
        assert matplotlib.image.imread(str(tmp_path / "sweep" / png)).ndim == 3, png


def test_summary_of_a_sweep_where_every_job_failed(tmp_path):
    paths = sweep_summary.write_summary([_fake_run(0, "FAILED", error="x")], [], tmp_path, {})
    assert all(p.stat().st_size > 0 for p in paths)
    assert "0 finished, 1 failed" in (tmp_path / "summary.md").read_text()
