"""The seed tutorial's recipe, value by value (docs/reproducing-the-seed.md), for tests/unit/test_seed_tutorial.py
(composition) and tests/e2e/test_seed_tutorial.py (`train.py experiment=seed_tutorial --cfg job`)."""
from __future__ import annotations

# The seed tutorial, value by value (its code: ted_multi, ParallelSentencesDataset.load_data(max_sentences=500000,
# max_sentence_length=250), DataLoader(batch_size=32, shuffle=True), MSELoss, fit(epochs=1, warmup 10 %,
# optimizer_params={'lr': 2e-5, 'eps': 1e-6}, save_best_model=True), stsb_multi_mt en / it / en-it).
SEED = {
    "teacher.model": "sentence-transformers/paraphrase-distilroberta-base-v2",
    "teacher.normalize": "keep",  # the teacher has no Normalize module: nothing to strip
    "student.model": "FacebookAI/xlm-roberta-base",
    "student.pooling": "mean",
    "student.max_seq_length": 512,  # models.Transformer without max_seq_length: the tokenizer's 512
    "student.projection": "auto",  # 768 = 768: no head
    "student.freeze_word_embeddings": False,
    "student.trim_vocab": False,
    "data.source": "ted",
    "data.hub_dataset": "neulab/ted_multi",
    "data.hub_splits": ["train"],
    "data.max_train_pairs": 500000,
    "data.max_chars": 250,
    "data.min_words": 0,
    "languages.source": "en",
    "languages.targets": ["it", "es", "ar", "fr", "de"],
    "optimizer.lr": 2e-5,
    "optimizer.eps": 1e-6,
    "optimizer.weight_decay": 0.01,
    "optimizer.warmup_ratio": 0.1,
    "optimizer.batch_size": 16,  # pairs: 16 x (English, translation) = the seed's 32 single sentences a step
    "optimizer.length_grouped": False,
    "optimizer.epochs": 1.0,
    "optimizer.max_steps": -1,
    "optimizer.max_grad_norm": 1.0,
    "hardware.device": "cuda",
    "hardware.precision": "fp32",
    "distill.dropout": None,
    "eval.stsb_multi.enabled": True,
    "eval.stsb_multi.dataset": "PhilipMay/stsb_multi_mt",
    "eval.stsb_multi.split": "test",
    "eval.stsb_multi.languages": ["en", "it"],
    "eval.stsb_multi.cross_lingual": True,
    "eval.sts17.enabled": False,
    "eval.baseline": True,
    "eval.udhr_languages": [],
    "save_model": True,
}


def get_dotted(tree, dotted: str):
    for key in dotted.split("."):
        tree = tree[key]
    return tree
