"""A tracked run is never left RUNNING, in-process: an exception ends it FAILED, an interrupt KILLED, and a signal
during a store write is raised after the write. The real stopped runs are tests/e2e/test_run_status.py."""
from __future__ import annotations

import os
import signal
import time

import pytest

from polyglot_distill.tracking import runs


@pytest.mark.parametrize(("raised", "status"), [(RuntimeError("boom"), "FAILED"), (KeyboardInterrupt(), "KILLED"),
                                               (runs.Interrupted("stopped by signal SIGTERM"), "KILLED")])
def test_tracked_run_ends_failed_or_killed(raised, status, tmp_path, compose, mlflow_runs, mlflow_store):
    db = mlflow_store
    cfg = compose(["experiment=smoke", f"tracking.uri=sqlite:///{db}", "tracking.system_metrics=false"])
    with pytest.raises(type(raised)):
        with runs.tracked_run(cfg, {}, tmp_path):
            raise raised
    run = mlflow_runs(db)[0]
    assert run.info.status == status
    assert (tmp_path / "mlflow_run_id").read_text() == run.info.run_id
    if status == "FAILED":
        assert run.data.tags["error"] == "RuntimeError: boom"


def test_a_signal_during_a_store_write_is_raised_after_it():
    """SIGTERM in the middle of an MLflow write is deferred to its end (a write cut in half can leave a SQLite
    store locked, and then ending the run KILLED would wait on the lock)."""
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    runs.stop_on_signals()
    done = []
    try:
        with pytest.raises(runs.Interrupted, match="SIGTERM"):
            with runs._store_write():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.2)  # the handler has run by now, and deferred the signal
                done.append("write finished")
        assert done == ["write finished"]
        with pytest.raises(runs.Interrupted):  # outside a write it is raised at once
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
        runs.interrupted_by = None
