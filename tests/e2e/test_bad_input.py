"""Bad input fails fast, with a message that names the field, the offending value and the fix.

Each case runs the real CLI (``train.py`` as a subprocess) or, where a subprocess would only add ~6 s of
imports, ``polyglot_distill.pipeline.run`` in-process on a composed config. ``stage`` says where the error
must be caught:

- ``compose``: Hydra rejects the override (exit 1);
- ``preflight``: :func:`polyglot_distill.config.validation.validate` raises it (no data read, no model loaded);
- ``corpus``: building the corpus raises it, before any model loads and before the MLflow run opens;
- ``start``: :func:`polyglot_distill.pipeline.run` raises it before reading data (the output folder, resume=);
- ``model``: only loading the model can tell (the Hub case: is the model in the local cache?).

For ``compose``/``preflight``/``corpus`` nothing is left behind: no MLflow run, no output folder (API) or no
``data_manifest.json`` (CLI). Every case id is listed in docs/errors.md with its message and fix.
"""
from __future__ import annotations

import json
import re
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from helpers.paths import REPO

from polyglot_distill.errors import ConfigError

FAST_S = 15  # a config error must not wait for a model
HUB_S = 20


@dataclass
class Case:
    id: str
    overrides: list[str]
    # all must appear in the message. In overrides and phrases, {tmp} is the test's folder, {lang} the case's
    # language and {pattern_lang} a literal "{lang}" (data.tsv_pattern's placeholder)
    phrases: list[str]
    stage: str
    mode: str = "api"  # "api": pipeline.run in-process; "cli": train.py subprocess
    rc: int = 2
    limit_s: float = FAST_S
    xfail: str | None = None
    files: dict[str, str | bytes] = field(default_factory=dict)  # tmp-relative path -> content, written first
    env: dict[str, str] = field(default_factory=dict)  # environment variables set for the run (e.g. torchrun's)


TSV_GOOD = "".join(f"This is English sentence number {k}.\tDas ist der deutsche Satz Nummer {k}.\n"
                   for k in range(20))

LOCAL_STS = ["experiment=smoke", "eval=[offline,local_sts]", 'eval.local_sts.path_pattern="{tmp}/sts-{name}.csv"']

# ted_multi rows as the Hub serves them (translations: {language: [...], translation: [...]}), as JSON lines
TED_JSONL = "".join(json.dumps({"translations": {"language": ["de", "en", "fr"],
                                                 "translation": [f"Das ist Satz {k}.", f"This is sentence {k}.",
                                                                 f"C'est la phrase {k}."]},
                                "talk_name": f"talk_{k // 10}"}) + "\n" for k in range(30))

CASES = [
    Case("unknown-language", ["experiment=smoke", "languages.targets=[xx]"],
         ["languages.targets", "'xx'", "is not an ISO 639-1 language code", "two-letter code such as de"],
         stage="corpus", mode="cli"),
    Case("language-name-instead-of-code", ["experiment=smoke", "languages.targets=[German]"],
         ["languages.targets", "'German'", "is not an ISO 639-1 language code", "Did you mean 'de'"],
         stage="corpus"),
    Case("misspelled-key", ["teacher.max_seq_lenght=3"],
         ["teacher.max_seq_lenght", "Key 'max_seq_lenght' not in 'TeacherConfig'"],
         stage="compose", mode="cli", rc=1),
    Case("appended-misspelled-key", ["experiment=smoke", "+teacher.max_seq_lenght=3"],
         ["teacher.max_seq_lenght", "max_seq_length"], stage="preflight"),
    Case("language-without-catalogs", ["experiment=smoke", "languages.targets=[{lang}]"],
         ["languages.targets", "no gettext pairs for '{lang}' after cleaning", "found 0 catalog files",
          "Remove it from languages.targets", "data=tsv"], stage="corpus"),
    Case("no-pairs-after-cleaning",
         ["experiment=smoke", "data=gettext", "languages.targets=[de]", "data.gettext_roots=[{tmp}/locale]",
          "data.include_django=false"],
         ["languages.targets", "no gettext pairs for 'de' after cleaning", "found 1 catalog files", "4 raw pairs",
          "Remove it from languages.targets"], stage="corpus"),
    Case("hub-model-offline", ["teacher=paraphrase-distilroberta"],
         ["teacher.model", "'sentence-transformers/paraphrase-distilroberta-base-v2'", "Hugging Face Hub id",
          "not in the local Hugging Face cache", "bundled:minilm-l6"],
         stage="preflight", mode="cli", limit_s=HUB_S),
    Case("hub-dataset-offline", ["experiment=smoke", "data=parallel_sentences"],
         ["data.hub_dataset", "'sentence-transformers/parallel-sentences-talks' is a Hugging Face Hub dataset",
          "not reachable", "not in the local datasets cache", "data.hub_dataset=<folder>", "data=gettext"],
         stage="corpus", limit_s=HUB_S),
    Case("local-model-missing", ["experiment=smoke", "student.model=/nonexistent/model"],
         ["student.model", "'/nonexistent/model'", "does not exist", "Check the path"], stage="preflight"),
    Case("tsv-line-without-tab", ["experiment=smoke", "data=tsv", 'data.tsv_pattern="{tmp}/en-{pattern_lang}.tsv"'],
         ["{tmp}/en-de.tsv", "2 of 22 lines are malformed", "line 21 (no tab)", "data.max_bad_line_fraction=0.01",
          "fix the file or raise data.max_bad_line_fraction"], stage="corpus",
         files={"en-de.tsv": TSV_GOOD + "no tab in this line\nnor in this one\n", "en-fr.tsv": TSV_GOOD}),
    Case("tsv-empty-side", ["experiment=smoke", "data=tsv", 'data.tsv_pattern="{tmp}/en-{pattern_lang}.tsv"'],
         ["{tmp}/en-de.tsv", "1 of 21 lines are malformed", "line 1 (empty side)",
          "data.max_bad_line_fraction=0.01", "both sides non-empty"], stage="corpus",
         files={"en-de.tsv": "An English sentence without translation.\t \n" + TSV_GOOD, "en-fr.tsv": TSV_GOOD}),
    Case("tsv-file-missing",
         ["experiment=smoke", "data=tsv", 'data.tsv_pattern="{tmp}/missing/en-{pattern_lang}.tsv"'],
         ["data.tsv_pattern", "'{tmp}/missing/en-de.tsv' does not exist", "{pattern_lang} standing for the target"],
         stage="corpus"),
    Case("tsv-pattern-not-set", ["experiment=smoke", "data=tsv"],
         ["data.tsv_pattern", "empty", "Set it to a path with {pattern_lang} for the language code"],
         stage="corpus"),
    Case("lr-zero", ["experiment=smoke", "optimizer.lr=0"],
         ["optimizer.lr", "0.0", "must be > 0", "2e-5"], stage="preflight"),
    Case("lr-negative", ["experiment=smoke", "optimizer.lr=-1e-5"],
         ["optimizer.lr", "-1e-05", "must be > 0"], stage="preflight"),
    Case("batch-size-zero", ["experiment=smoke", "optimizer.batch_size=0"],
         ["optimizer.batch_size", ": 0", "must be > 0"], stage="preflight"),
    # 0 epochs used to start a run that trained nothing; a negative cap was taken as "no cap"
    Case("epochs-zero", ["experiment=smoke", "optimizer.epochs=0"],
         ["optimizer.epochs: 0.0 must be > 0.", "Use a positive number of epochs"], stage="preflight", mode="cli"),
    Case("train-cap-negative", ["experiment=smoke", "data.max_train_pairs=-5"],
         ["data.max_train_pairs: -5 must be >= 0.", "Use 0 for no cap"], stage="preflight"),
    Case("teacher-normalize-unknown", ["experiment=smoke", "teacher.normalize=yes"],
         ["teacher.normalize", "'yes'", "keep, strip"], stage="preflight"),
    Case("projection-never-dims-differ", ["experiment=smoke", "student.projection=never"],
         ["student.projection", "'never'", "128", "384", "student.projection=auto"], stage="preflight"),
    Case("test-split-too-small", ["experiment=smoke", "data.max_test_pairs=1"],
         ["data.max_test_pairs", "1"], stage="preflight"),
    Case("precision-unknown", ["experiment=smoke", "hardware.precision=fp8"],
         ["hardware.precision", "'fp8'", "fp32, bf16, fp16"], stage="preflight"),
    Case("fp16-on-cpu", ["experiment=smoke", "hardware.precision=fp16"],
         ["hardware.precision", "'fp16' needs a CUDA GPU", "hardware=cpu_bf16"], stage="preflight"),
    Case("udhr-unknown-language", ["experiment=smoke", "eval.udhr_languages=[trained,klingon]"],
         ["eval.udhr_languages", "'klingon' is not a language of the UDHR package", "BCP 47 tag"],
         stage="corpus"),
    Case("udhr-too-few-paragraphs", ["experiment=smoke", "eval.udhr_languages=[ru]", "eval.udhr_min_pairs=55"],
         ["eval.udhr_languages", "'ru' (ru) has 50 paragraphs aligned", "eval.udhr_min_pairs=55",
          "lower eval.udhr_min_pairs"], stage="corpus"),
    # reliability (docs/reliability.md): Hydra's own checks, the TSV reader on broken files, the tracking store,
    # the output folder, the _target_ allowlist and resume=
    Case("wrong-type", ["optimizer.lr=fast"],
         ["optimizer.lr=fast", "Value 'fast' of type 'str' could not be converted to Float", "full_key: optimizer.lr"],
         stage="compose", mode="cli", rc=1),
    Case("unknown-group-option", ["teacher=bert-large"],
         ["Could not find 'teacher/bert-large'", "Available options in 'teacher'", "minilm-l6"],
         stage="compose", mode="cli", rc=1),
    Case("tsv-invalid-utf8", ["experiment=smoke", "data=tsv", 'data.tsv_pattern="{tmp}/en-{pattern_lang}.tsv"'],
         ["{tmp}/en-de.tsv", "line 21 is not valid UTF-8", "Re-encode the file as UTF-8"], stage="corpus",
         files={"en-de.tsv": (TSV_GOOD + "A caf\xe9 in Latin-1.\tEin Caf\xe9.\n").encode("latin-1"),
                "en-fr.tsv": TSV_GOOD}),
    Case("tsv-binary", ["experiment=smoke", "data=tsv", 'data.tsv_pattern="{tmp}/en-{pattern_lang}.tsv"'],
         ["{tmp}/en-de.tsv", "line 1 contains NUL bytes", "binary data, not a UTF-8 TSV file"], stage="corpus",
         files={"en-de.tsv": bytes(range(256)) * 4, "en-fr.tsv": TSV_GOOD}),
    Case("tsv-gz-not-gzip", ["experiment=smoke", "data=tsv", 'data.tsv_pattern="{tmp}/en-{pattern_lang}.tsv.gz"'],
         ["{tmp}/en-de.tsv.gz", "not a readable gzip file", "compress it with gzip or drop the .gz suffix"],
         stage="corpus", files={"en-de.tsv.gz": TSV_GOOD, "en-fr.tsv.gz": TSV_GOOD}),
    Case("tracking-uri-unreachable", ["experiment=smoke", "tracking.uri=http://user:secret@127.0.0.1:9"],
         ["tracking.uri", "cannot reach 'http://127.0.0.1:9'", "Start the server", "tracking=none"],
         stage="preflight"),
    Case("tracking-sqlite-folder-missing", ["experiment=smoke", "tracking.uri=sqlite:///{tmp}/no/such/mlflow.db"],
         ["tracking.uri", "{tmp}/no/such", "does not exist", "an existing folder"], stage="preflight"),
    Case("output-dir-not-writable", ["experiment=smoke", "output_dir={tmp}/blocker/run"],
         ["output_dir", "'{tmp}/blocker/run'", "'{tmp}/blocker' is a file, not a folder", "Choose a folder"],
         stage="start", mode="cli", files={"blocker": "a file where a folder should be"}),
    Case("target-not-allowed", ["experiment=smoke", "+hydra.callbacks.evil._target_=os.system"],
         ["hydra.callbacks.evil._target_", "'os.system' is not an allowed _target_", "Use a class of"],
         stage="compose", mode="cli"),
    Case("checkpoint-steps-negative", ["experiment=smoke", "distill.checkpoint_steps=-5"],
         ["distill.checkpoint_steps", "-5", "must be >= 0"], stage="preflight"),
    Case("teacher-cache-dir-not-writable", ["experiment=smoke", "teacher_cache_dir={tmp}/blocker/cache"],
         ["teacher_cache_dir", "'{tmp}/blocker/cache' is not a writable directory", "'{tmp}/blocker' is a file",
          "teacher.cache=false"], stage="preflight", files={"blocker": "a file where a folder should be"}),
    Case("resume-not-a-run-dir", ["experiment=smoke", "resume={tmp}/elsewhere"],
         ["resume", "'{tmp}/elsewhere' is not a run directory", "config_resolved.yaml", "resume=last"],
         stage="start"),
    Case("resume-nothing-to-resume", ["experiment=smoke", "resume=last"],
         ["resume", "no run under outputs/ has a checkpoint", "resume=null"], stage="start"),
    # torchrun (docs/scaling.md): the variables it sets in each process
    Case("ddp-nccl-on-cpu", ["experiment=smoke", "hardware=ddp", "hardware.distributed_backend=nccl"],
         ["hardware.distributed_backend", "'nccl' needs CUDA GPUs", "hardware=ddp_cuda"], stage="preflight"),
    Case("torchrun-without-ddp-hardware", ["experiment=smoke"],
         ["hardware.distributed_backend", "torchrun started 2 processes", "own MLflow run", "hardware=ddp"],
         stage="preflight", env={"WORLD_SIZE": "2", "RANK": "0", "TORCHELASTIC_RUN_ID": "job-1"}),
    Case("ddp-batch-not-divisible", ["experiment=smoke", "hardware=ddp"],
         ["optimizer.batch_size", "32 is not divisible by the 3 processes", "optimizer.batch_size=33"],
         stage="preflight", env={"WORLD_SIZE": "3", "RANK": "0", "TORCHELASTIC_RUN_ID": "job-1"}),
    Case("torchrun-run-id-none", ["experiment=smoke", "hardware=ddp"],
         ["TORCHELASTIC_RUN_ID", "'none'", "outputs/ddp/none", "--standalone", "--rdzv-id"],
         stage="preflight", env={"WORLD_SIZE": "2", "RANK": "0", "TORCHELASTIC_RUN_ID": "none"}),
    # local STS files (eval=local_sts, docs/metrics.md#sts-benchmarks): read before any model loads
    Case("local-sts-missing-column", [*LOCAL_STS, "eval.local_sts.names=[de]"],
         ["{tmp}/sts-de.csv", "missing column(s) score", "(it has sentence1, sentence2, similarity)",
          "eval.local_sts.score_column"], stage="corpus",
         files={"sts-de.csv": "sentence1,sentence2,similarity\nEin Hund.,Ein Hund rennt.,4\nJa.,Nein.,0\n"}),
    Case("local-sts-score-not-a-number", [*LOCAL_STS, "eval.local_sts.names=[de]"],
         ["{tmp}/sts-de.csv", "row 2", "'high'", "is not a number", "fix or drop that row"], stage="corpus",
         files={"sts-de.csv": "sentence1,sentence2,score\nEin Hund.,Ein Hund rennt.,4\nJa.,Nein.,high\n"}),
    Case("local-sts-score-out-of-scale", [*LOCAL_STS, "eval.local_sts.names=[de]"],
         ["{tmp}/sts-de.csv", "row 1", "score 7.5 is outside the scale [0, 5]", "eval.local_sts.score_min"],
         stage="corpus", files={"sts-de.csv": "sentence1,sentence2,score\nEin Hund.,Ein Hund rennt.,7.5\nJa.,Nein.,0\n"}),
    # Hub datasets (docs/data.md, docs/metrics.md#sts-benchmarks-human-scores): offline, and a language they lack
    Case("sts-dataset-offline", ["experiment=smoke", "eval=[offline,stsb_multi]"],
         ["eval.stsb_multi.dataset", "'PhilipMay/stsb_multi_mt' is a Hugging Face Hub dataset", "not reachable",
          "not in the local datasets cache", "save_to_disk", "eval.stsb_multi.dataset=<folder or file>",
          "eval=offline"], stage="corpus", limit_s=HUB_S),
    Case("dataset-lacks-language", ["experiment=smoke", "data=ted", "data.hub_dataset={tmp}/ted.jsonl",
                                    "languages.targets=[de,ja]"],
         ["languages.targets", "'ja' is not a language of '{tmp}/ted.jsonl'", "it has de, en, fr",
          "Remove it from languages.targets", "data.dataset_codes"], stage="corpus",
         files={"ted.jsonl": TED_JSONL}),
    Case("sts-dataset-lacks-language", ["experiment=smoke", "eval=[offline,stsb_multi]",
                                        "eval.stsb_multi.languages=[en,ja]"],
         ["eval.stsb_multi.languages", "'ja' is not a language of stsb_multi_mt", "de en es fr it", "Drop it"],
         stage="corpus"),
]
CASE_IDS = [c.id for c in CASES]


def _write_mo(path: Path, pairs: dict[str, str]) -> None:
    """A GNU .mo catalog (what msgfmt writes), with a UTF-8 header entry."""
    entries = sorted({"": "Content-Type: text/plain; charset=UTF-8\n", **pairs}.items())
    ids = [k.encode() for k, _ in entries]
    strs = [v.encode() for _, v in entries]
    n = len(entries)
    start = 7 * 4 + 16 * n
    blob, orig, trans = b"", [], []
    for table, items in ((orig, ids), (trans, strs)):
        for item in items:
            table.append((len(item), start + len(blob)))
            blob += item + b"\0"
    header = struct.pack("<7I", 0x950412DE, 0, n, 28, 28 + 8 * n, 0, 0)
    body = b"".join(struct.pack("<2I", *e) for e in orig) + b"".join(struct.pack("<2I", *e) for e in trans)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + body + blob)


# every pair is dropped by a cleaning rule: too few words, a grammatical placeholder, a URL, an option
UNCLEANABLE = {
    "Open": "Öffnen",
    "Copied %d of %d files": "%d von %d Dateien kopiert",
    "See https://example.org for details": "Siehe https://example.org für Details",
    "Use --force to overwrite the file": "Verwenden Sie --force, um die Datei zu überschreiben",
}


def _language_without_catalogs() -> str:
    from polyglot_distill.data import LANGUAGES, find_catalogs

    for code in ["aa", *sorted(LANGUAGES)]:
        if not find_catalogs(code, ["/usr/share/locale"], include_django=True):
            return code
    pytest.skip("every ISO 639-1 language has a catalog on this machine")


def _fill(text: str, tmp: Path, lang: str) -> str:
    return text.replace("{tmp}", str(tmp)).replace("{lang}", lang).replace("{pattern_lang}", "{lang}")


def _params():
    for case in CASES:
        marks = [pytest.mark.xfail(reason=case.xfail, strict=True)] if case.xfail else []
        yield pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", list(_params()))
def test_bad_input_fails_fast_with_a_helpful_message(case, tmp_path, cli, compose, mlflow_runs, monkeypatch):
    lang = _language_without_catalogs() if case.id == "language-without-catalogs" else "de"
    if case.id == "no-pairs-after-cleaning":
        _write_mo(tmp_path / "locale" / "de" / "LC_MESSAGES" / "test.mo", UNCLEANABLE)
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    for name, content in case.files.items():
        path = tmp_path / name
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    overrides = [_fill(o, tmp_path, lang) for o in case.overrides]
    phrases = [_fill(p, tmp_path, lang) for p in case.phrases]
    db, teacher_cache = tmp_path / "mlflow.db", tmp_path / "teacher-cache"
    if not any(o.startswith("tracking") for o in overrides):
        overrides.append(f"tracking.uri=sqlite:///{db}")
    if not any(o.startswith("teacher_cache_dir=") for o in overrides):  # no cache entry for a bad input
        overrides.append(f"teacher_cache_dir={teacher_cache}")

    if case.mode == "cli":
        proc = cli(*overrides)
        message = proc.stderr
        assert proc.returncode == case.rc, f"exit {proc.returncode}:\n{message[-3000:]}"
        for phrase in phrases:
            assert phrase in message, f"{phrase!r} not in:\n{message[-3000:]}"
        if case.rc == 2:  # a ConfigError: one "error: ..." line, no traceback
            assert "Traceback" not in message
            assert any(line.startswith("error: ") and phrases[0] in line for line in message.splitlines())
        assert proc.elapsed < case.limit_s, f"took {proc.elapsed:.1f} s"
        if case.stage != "model":  # nothing half-written: Hydra's own log at most, no run, no cache entry
            left = sorted(p.name for p in proc.run_dir.iterdir()) if proc.run_dir.exists() else []
            assert set(left) <= {".hydra", "train.log"}, left
            assert mlflow_runs(db) == []
            assert not teacher_cache.exists()
        return

    monkeypatch.chdir(tmp_path)
    cfg = compose(overrides)
    from polyglot_distill.pipeline import run, validate

    if case.stage == "preflight":
        with pytest.raises(ConfigError) as err:
            validate(cfg)  # no data read, no model loaded
        for phrase in phrases:
            assert phrase in str(err.value), f"{phrase!r} not in {err.value}"
    started = time.perf_counter()
    with pytest.raises(ConfigError) as err:
        run(cfg, tmp_path / "out")
    elapsed = time.perf_counter() - started
    for phrase in phrases:
        assert phrase in str(err.value), f"{phrase!r} not in {err.value}"
    assert elapsed < case.limit_s, f"took {elapsed:.1f} s"
    assert not (tmp_path / "out").exists(), "output folder created for an error caught before the run"
    assert mlflow_runs(db) == [], "MLflow run created for an error caught before the run"
    assert not teacher_cache.exists(), "teacher cache written for an error caught before the run"


@pytest.mark.parametrize("source", ["conf/data/tsv.yaml", "docs/data.md"])
def test_the_documented_tsv_pattern_override_is_valid(compose, source):
    text = (REPO / source).read_text()
    match = re.search(r"""data\.tsv_pattern=("[^"]*"|'[^']*'|[^\s`'"]+)""", text)
    assert match, f"{source} shows no data.tsv_pattern override"
    cfg = compose(["data=tsv", f"data.tsv_pattern={match.group(1)}"])
    assert "{lang}" in cfg.data.tsv_pattern


def test_offline_hub_id_is_caught_in_preflight(compose):
    from polyglot_distill.pipeline import validate

    with pytest.raises(ConfigError, match="bundled:minilm-l6"):
        validate(compose(["teacher=paraphrase-distilroberta"]))


def test_docs_errors_lists_every_case():
    text = (REPO / "docs" / "errors.md").read_text()
    rows = re.findall(r"^\|\s*`([a-z0-9-]+)`\s*\|", text, flags=re.M)
    assert sorted(rows) == sorted(CASE_IDS), "docs/errors.md and test_bad_input.CASES must list the same cases"
