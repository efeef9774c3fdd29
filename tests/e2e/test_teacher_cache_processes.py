"""Two processes sharing one teacher-embedding cache (each loads the bundled teacher): the lock makes each sentence
be encoded once. The in-process cache tests are tests/unit/training/test_teacher_cache.py."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from helpers.paths import REPO

from polyglot_distill.training import teacher_cache

TEACHER_CFG = {"model": "bundled:minilm-l6", "normalize": "keep", "max_seq_length": 128, "batch_size": 64,
               "trust_remote_code": False, "cache": True}
WRITER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from omegaconf import OmegaConf
    from polyglot_distill.training import distill
    from polyglot_distill.models import loading
    from polyglot_distill.training import teacher_cache
    root, go, first, last = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    teacher = loading.load_teacher(OmegaConf.create(json.loads(sys.argv[5])), ".cache/polyglot-distill", "cpu")
    sentences = [f"Concurrent sentence {k} of the shared sweep." for k in range(first, last)]
    while not go.exists():
        time.sleep(0.01)
    _, stats = teacher_cache.encode_cached(root, teacher, sentences,
                                           lambda s: distill.encode(teacher, s, 16), 384)
    print(json.dumps({"hits": stats.hits, "misses": stats.misses}))
""")


def test_two_processes_writing_one_cache_encode_each_sentence_once(tmp_path):
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path / "cache"), str(go), str(a), str(b),
                               json.dumps(TEACHER_CFG)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for a, b in ((0, 150), (50, 200))]
    go.touch()  # both start encoding at once (the one that gets the lock first encodes, the other waits)
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert sum(r["misses"] for r in results) == 200, results  # the 100 shared sentences were encoded once
    assert sorted(r["hits"] for r in results) == [0, 100], results  # the later one waited, then reused them
    report = teacher_cache.verify(tmp_path / "cache")
    assert report["problems"] == [] and report["rows"] == 200, report
