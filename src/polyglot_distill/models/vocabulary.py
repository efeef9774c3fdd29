"""Vocabulary trimming: shrink an XLM-R (SentencePiece-Unigram) student to the pieces its run can meet.

e5-small's 250,037-row word-embedding matrix is 80 % of its parameters, but one run's corpora (train/dev/test
of every language plus the UDHR evaluation text) use a few percent of the pieces. :func:`trim_student` keeps

- every piece that the tokenizer produces for the run's sentences,
- the special tokens (``<s> <pad> </s> <unk>`` at ids 0-3, ``<mask>`` last) and every single-character piece
  (so unseen text falls back to characters, not to ``<unk>``),
- the piece with the lowest score (the Unigram model scores ``<unk>`` relative to that minimum),

rebuilds the Unigram tokenizer over that subset (same scores, same normalizer and pre-tokenizer) and slices
the embedding matrix to match. Every sentence the tokenizer was given gets the same pieces as before (the
full vocabulary's best segmentation uses only kept pieces, and removing pieces cannot beat it), so the
trimmed student embeds the run's text exactly as the full one did; text outside the run may be split into
more, shorter pieces. The trimmed model saves and loads as a plain ``SentenceTransformer(path)``.

What a run saves and logs is not the trimmed model: :func:`untrim_student` (called by the pipeline before
saving and by ``model_registry.log_student``) puts back the full tokenizer (kept in memory since the trim) and
the full matrix, read again from the model's ``model.safetensors`` with the trimmed rows, trained or not, written
back to their original ids, so the saved student tokenizes any text as the original does.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import struct
from pathlib import Path

import numpy as np
import torch
from sentence_transformers import SentenceTransformer

from polyglot_distill.errors import ConfigError

log = logging.getLogger(__name__)

SPECIALS = ("<s>", "<pad>", "</s>", "<unk>")


def _unigram_spec(tokenizer, field: str) -> dict:
    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    model = spec.get("model", {})
    vocab = model.get("vocab") or []
    if model.get("type") != "Unigram" or [p for p, _ in vocab[:4]] != list(SPECIALS) or model.get("unk_id") != 3:
        raise ConfigError(f"{field}: vocabulary trimming needs an XLM-R SentencePiece-Unigram tokenizer "
                          f"(<s> <pad> </s> <unk> at ids 0-3); this student's is {model.get('type')!r}. "
                          f"Set student.trim_vocab=false.")
    return spec


def used_ids(tokenizer, sentences: list[str], batch_size: int = 2048) -> set[int]:
    """Token ids the tokenizer produces for ``sentences`` (without truncation: long text counts fully)."""
    ids: set[int] = set()
    unique = sorted(set(sentences))
    for start in range(0, len(unique), batch_size):
        for row in tokenizer(unique[start:start + batch_size], add_special_tokens=False)["input_ids"]:
            ids.update(row)
    return ids


def kept_ids(tokenizer, sentences: list[str], field: str = "student.trim_vocab") -> list[int]:
    """The sorted ids :func:`trim_student` keeps (see the module docstring)."""
    spec = _unigram_spec(tokenizer, field)
    vocab = spec["model"]["vocab"]
    scores = np.array([s for _, s in vocab], dtype=np.float64)
    keep = used_ids(tokenizer, sentences) | {0, 1, 2, 3, len(vocab) - 1, int(np.argmin(scores))}
    keep |= {i for i, (piece, _) in enumerate(vocab) if len(piece.removeprefix("▁")) <= 1}
    keep |= {token["id"] for token in spec.get("added_tokens") or []}  # <mask> and any other added token
    return sorted(keep)


def trimmed_tokenizer(tokenizer, keep: list[int]):
    """``tokenizer`` over the pieces ``keep`` only: its ``tokenizer.json`` with the vocabulary cut and the special
    tokens renumbered, so the normaliser (e5-small's NFC + charsmap), pre-tokeniser, template and decoder are
    the original's. A ``TokenizersBackend``: ``XLMRobertaTokenizer`` would rebuild the normaliser from the
    charsmap alone on reload (see ``assets/sp_normalizer.py``)."""
    from tokenizers import Tokenizer

    from polyglot_distill.models.assets.sp_normalizer import backend_tokenizer_like

    spec = _unigram_spec(tokenizer, "student.trim_vocab")
    vocab = spec["model"]["vocab"]
    new_of_old = {old: new for new, old in enumerate(keep)}
    spec["model"]["vocab"] = [vocab[i] for i in keep]
    for token in spec.get("added_tokens") or []:
        token["id"] = new_of_old[token["id"]]  # kept_ids keeps every added token
    for special in ((spec.get("post_processor") or {}).get("special_tokens") or {}).values():
        special["ids"] = [new_of_old[i] for i in special["ids"]]
    return backend_tokenizer_like(tokenizer, Tokenizer.from_str(json.dumps(spec)))


TRIM_RECORD = "vocab_trim_record"
"""Attribute of a trimmed student's ``Transformer`` module holding its :class:`TrimRecord`."""
_ST_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


@dataclasses.dataclass
class TrimRecord:
    """What :func:`untrim_student` needs: the full tokenizer, which rows were kept, and the full matrix's source
    (a safetensors file and tensor name, read again at save time; or, when no file holds it, a copy)."""
    tokenizer: object
    kept: torch.Tensor  # old ids of the trimmed rows, in trimmed order
    rows: int
    weight_file: str | None = None
    weight_key: str | None = None
    full_weight: torch.Tensor | None = None


def _safetensors_header(path: Path) -> tuple[dict, int]:
    with open(path, "rb") as fh:
        size = struct.unpack("<Q", fh.read(8))[0]
        return json.loads(fh.read(size)), 8 + size


def _read_rows(path: str, meta: dict, start: int, rows: slice | None = None) -> torch.Tensor:
    """Rows of a safetensors tensor read with plain file reads into a fresh tensor: no mapping of the file, so
    only the result counts in the process's RSS (page cache does not)."""
    shape = list(meta["shape"])
    first, stop = (0, shape[0]) if rows is None else (rows.start, rows.stop)
    out = torch.empty([stop - first, *shape[1:]], dtype=_ST_DTYPES[meta["dtype"]])
    row_bytes = out[0].numel() * out.element_size()
    buf = out.view(-1).view(torch.uint8).numpy()
    with open(path, "rb") as fh:
        fh.seek(start + meta["data_offsets"][0] + first * row_bytes)
        done = 0
        while done < buf.nbytes:
            n = fh.readinto(memoryview(buf)[done:])
            if not n:
                raise OSError(f"{path}: ends inside tensor data")
            done += n
    return out


def _full_matrix_source(auto, weight: torch.Tensor) -> tuple[str | None, str | None, torch.Tensor | None]:
    """``(file, tensor name, None)`` when the model's safetensors file holds ``weight`` (same shape, same values
    in 64 sampled rows), else ``(None, None, a CPU copy)``: the copy costs a full matrix for the whole run."""
    folder = Path(str(getattr(auto, "name_or_path", "") or ""))
    path = folder / "model.safetensors"
    if not path.is_file():
        from huggingface_hub import try_to_load_from_cache

        try:  # a Hub id's cached file; a folder without the file is no repo id
            cached = try_to_load_from_cache(str(folder), "model.safetensors")
        except Exception:  # noqa: BLE001 - huggingface_hub's validation errors: just "not there"
            cached = None
        path = Path(cached) if isinstance(cached, str) else None
    if path is not None:
        header, start = _safetensors_header(path)
        for key, meta in header.items():
            if key == "__metadata__" or not key.endswith("word_embeddings.weight") \
                    or meta["shape"] != list(weight.shape) or meta["dtype"] not in _ST_DTYPES:
                continue
            sample = torch.linspace(0, weight.shape[0] - 1, 64).long().tolist()
            if all(torch.equal(_read_rows(str(path), meta, start, slice(i, i + 1))[0].to(weight.dtype),
                               weight[i].detach().cpu()) for i in sample):
                return str(path), key, None
    log.warning("vocabulary trimming: no safetensors file holds the full embedding matrix (looked in %s); "
                "keeping a %.0f MB copy to restore it when the model is saved", path or folder,
                weight.numel() * weight.element_size() / 2**20)
    return None, None, weight.detach().cpu().clone()


def untrim_student(model: SentenceTransformer) -> dict[str, int] | None:
    """Undo :func:`trim_student` in place before saving or logging: the full tokenizer again, and the full
    embedding matrix with the trimmed (possibly trained) rows written back to their original ids. Any text
    then tokenizes as with the original model. Returns ``{"rows_before", "rows_after"}``; None (and no change)
    for a student that is not trimmed."""
    transformer = model[0]
    record: TrimRecord | None = getattr(transformer, TRIM_RECORD, None)
    if record is None:
        return None
    auto = transformer.auto_model
    trimmed = auto.get_input_embeddings()
    if record.full_weight is not None:
        full = record.full_weight
    else:
        header, start = _safetensors_header(Path(record.weight_file))
        full = _read_rows(record.weight_file, header[record.weight_key], start)
    if tuple(full.shape) != (record.rows, trimmed.weight.shape[1]):
        raise ConfigError(f"student.trim_vocab: the full embedding matrix read back from {record.weight_file} has "
                          f"shape {tuple(full.shape)}, not ({record.rows}, {trimmed.weight.shape[1]}); the file "
                          f"changed since the run started. Set student.trim_vocab=false, or rerun.")
    with torch.no_grad():
        full = full.to(trimmed.weight.dtype)
        full.index_copy_(0, record.kept, trimmed.weight.detach().cpu().to(full.dtype))
    emb = torch.nn.Embedding.from_pretrained(full.to(trimmed.weight.device), freeze=not trimmed.weight.requires_grad,
                                             padding_idx=trimmed.padding_idx)
    auto.set_input_embeddings(emb)
    auto.config.vocab_size = record.rows
    transformer.processor = record.tokenizer
    delattr(transformer, TRIM_RECORD)
    log.info("vocabulary restored for saving: %d -> %d embedding rows", len(record.kept), record.rows)
    return {"rows_before": len(record.kept), "rows_after": record.rows}


def trim_student(model: SentenceTransformer, sentences: list[str]) -> dict[str, int]:
    """Trim ``model``'s vocabulary and word embeddings in place to what ``sentences`` need.

    Returns ``{"vocab_before", "vocab_after", "embedding_rows_before"}``. Call it before freezing or
    training the embeddings (the matrix is replaced by a new parameter)."""
    transformer = model[0]
    tokenizer = transformer.tokenizer
    keep = kept_ids(tokenizer, sentences)
    new_tokenizer = trimmed_tokenizer(tokenizer, keep)
    auto = transformer.auto_model
    old = auto.get_input_embeddings()
    rows_before = old.weight.shape[0]
    with torch.no_grad():
        weight = old.weight[torch.tensor(keep, dtype=torch.long, device=old.weight.device)].clone()
    emb = torch.nn.Embedding(len(keep), weight.shape[1], padding_idx=old.padding_idx,
                             device=weight.device, dtype=weight.dtype)
    emb.weight = torch.nn.Parameter(weight, requires_grad=old.weight.requires_grad)
    auto.set_input_embeddings(emb)
    auto.config.vocab_size = len(keep)
    # the loaded weights are views of the memory-mapped safetensors file, which the row gather has made resident
    # (~340 MB for e5-small): private copies let the mapping go with the full matrix (same values)
    with torch.no_grad():
        for module in auto.modules():
            for tensor in [*module._parameters.values(), *module._buffers.values()]:
                if tensor is not None and tensor is not emb.weight:
                    tensor.data = tensor.data.clone()
    transformer.processor = new_tokenizer
    setattr(transformer, TRIM_RECORD, TrimRecord(tokenizer, torch.tensor(keep, dtype=torch.long), rows_before,
                                                 *_full_matrix_source(auto, old.weight)))
    stats = {"vocab_before": len(tokenizer), "vocab_after": len(new_tokenizer), "embedding_rows_before": rows_before}
    log.info("vocabulary trimmed: %d -> %d pieces (%d embedding rows before)", stats["vocab_before"],
             stats["vocab_after"], rows_before)
    return stats


def run_text(splits: dict[str, dict[str, list[tuple[str, str]]]],
             udhr_pairs: dict[str, list[tuple[str, str]]] | None = None) -> list[str]:
    """Every sentence of a run (all splits and languages, both sides, plus the UDHR evaluation pairs)."""
    pairs = [p for by in splits.values() for ps in by.values() for p in ps]
    pairs += [p for ps in (udhr_pairs or {}).values() for p in ps]
    return sorted({s for pair in pairs for s in pair})
