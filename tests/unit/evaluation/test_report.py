"""The results table (rows, text, CSV, JSON) and the before/after chart."""
from __future__ import annotations

import csv
import json
import math
import struct

import pytest

from polyglot_distill.evaluation import report

LANGS = ["de", "fr"]


def _metrics() -> dict[str, float]:
    m: dict[str, float] = {}
    for k, lang in enumerate(LANGS):
        for family, suffix in report.METRICS:
            key = report.metric_key(family, lang, suffix)
            m[key] = 0.5 + 0.1 * k
            m[f"baseline/teacher/{key}"] = 0.9
            m[f"baseline/lstsq/{key}"] = 0.3
            if family not in ("teacher_retrieval", "mse"):  # the untrained student has no teacher-space metrics
                m[f"baseline/student/{key}"] = 0.1
    for family, suffix in report.METRICS:
        m[f"mean/{family}/{suffix}"] = 0.55
    m["baseline/student/mse/en-de/mse"] = float("nan")  # what score_language gives when sizes differ
    m["dev/selection"] = 0.4  # not a table metric
    return m


def test_results_rows_one_per_language_and_metric_plus_means():
    rows = report.results_rows(_metrics(), LANGS)
    assert [(r["language"], r["metric"]) for r in rows] == [
        (lang, f"{family}/{suffix}") for lang in [*LANGS, "mean"] for family, suffix in report.METRICS]
    de_retrieval = next(r for r in rows if r["language"] == "de" and r["metric"] == "teacher_retrieval/accuracy")
    assert de_retrieval == {"language": "de", "metric": "teacher_retrieval/accuracy", "baseline/student": None,
                            "baseline/lstsq": 0.3, "baseline/teacher": 0.9, "final": 0.5}
    fr_sts = next(r for r in rows if r["language"] == "fr" and r["metric"] == "sts_teacher/spearman")
    assert fr_sts["final"] == pytest.approx(0.6) and fr_sts["baseline/student"] == 0.1
    assert report.results_rows({}, LANGS) == []  # rows without any value are left out


def test_format_table_aligns_columns_and_marks_missing_values():
    rows = report.results_rows(_metrics(), LANGS)
    lines = report.format_table(rows).splitlines()
    assert lines[0].split() == ["language", "metric", *report.COLUMNS]
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert len(lines) == 2 + len(rows)
    assert all(len(line.rstrip()) <= len(lines[1]) for line in lines)
    de_tr = next(line for line in lines if line.startswith("de ") and "teacher_retrieval" in line)
    assert de_tr.split() == ["de", "teacher_retrieval/accuracy", "-", "0.300", "0.900", "0.500"]
    de_mse = next(line for line in lines if line.startswith("de ") and "mse/mse" in line)
    assert de_mse.split()[2] == "-", "a NaN (undefined) metric is shown as '-', not 'nan'"
    assert "nan" not in report.format_table(rows).lower()


def test_write_results_csv_and_json(tmp_path):
    metrics = _metrics()
    rows = report.results_rows(metrics, LANGS)
    paths = report.write_results(rows, metrics, tmp_path / "out")
    assert [p.name for p in paths] == ["results.csv", "results.json"]
    with paths[0].open(newline="") as f:
        table = list(csv.DictReader(f))
    assert list(table[0]) == ["language", "metric", *report.COLUMNS]
    assert len(table) == len(rows)
    assert table[0]["language"] == "de" and float(table[0]["final"]) == 0.5
    data = json.loads(paths[1].read_text())
    nan_to_none = lambda v: None if isinstance(v, float) and v != v else v  # noqa: E731
    assert data["rows"] == [{k: nan_to_none(v) for k, v in r.items()} for r in rows]  # NaN is written as null
    assert data["metrics"]["dev/selection"] == 0.4


def test_results_json_is_strict_json_even_with_undefined_metrics(tmp_path):
    metrics = _metrics()
    path = report.write_results(report.results_rows(metrics, LANGS), metrics, tmp_path)[1]

    def reject(token):
        raise ValueError(f"{token} is not JSON")

    json.loads(path.read_text(), parse_constant=reject)


def test_plot_before_after_writes_a_valid_png(tmp_path):
    path = report.plot_before_after(_metrics(), LANGS, tmp_path / "sub" / "before_after.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width > 600 and height > 200
    import matplotlib.image

    pixels = matplotlib.image.imread(str(path))
    assert pixels.shape[:2] == (height, width)
    assert not math.isclose(float(pixels.std()), 0.0)  # something was drawn


def test_plot_with_missing_baselines(tmp_path):
    only_final = {report.metric_key(f, L, s): 0.5 for f, s in report.METRICS for L in LANGS}
    path = report.plot_before_after(only_final, LANGS, tmp_path / "p.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
