"""distill.english_once: which rows an epoch trains on (training/rows.py)."""
from polyglot_distill.training.rows import training_rows

PAIRS = [("Save", "Speichern"), ("Save", "Enregistrer"), ("Open", "Öffnen"), ("A long prose line.", "A long prose line.")]


def test_pairs_as_reimers_and_gurevych_train_them():
    assert training_rows(PAIRS, english_once=False) == [
        ("Save", "Save", "Speichern"), ("Save", "Save", "Enregistrer"), ("Open", "Open", "Öffnen"),
        ("A long prose line.", "A long prose line.", "A long prose line.")]


def test_english_once_embeds_each_english_sentence_once_and_each_translation_alone():
    rows = training_rows(PAIRS, english_once=True)
    assert rows == [("Save", "Save", "Save"), ("Save", "Speichern", "Speichern"),
                    ("Save", "Enregistrer", "Enregistrer"), ("Open", "Open", "Open"), ("Open", "Öffnen", "Öffnen"),
                    ("A long prose line.", "A long prose line.", "A long prose line.")]
    # every row runs one forward (loss.same_columns); every translation keeps its English's label
    assert all(a == b for _, a, b in rows)
    embedded = [a for _, a, _ in rows]
    assert sorted(embedded) == sorted({en for en, _ in PAIRS} | {xx for _, xx in PAIRS})
