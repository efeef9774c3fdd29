"""A SLURM sweep whose tracking URI is this machine's warns before submitting (tracking.sweep), on composed configs.
The submitit sweeps themselves are tests/e2e/test_submitit.py."""
from __future__ import annotations

import pytest

# pytest resets warning filters for each test: the one polyglot_distill.tracking.sweep sets for train.py, again
# for compose()
pytestmark = pytest.mark.filterwarnings("ignore:\\s*'hydra/launcher/submitit_:UserWarning")


def test_a_slurm_sweep_to_a_store_of_this_machine_warns(compose, caplog):
    from polyglot_distill.tracking import sweep

    for uri, warns in (("http://127.0.0.1:5001", True), ("sqlite:///mlflow.db", True),
                       ("http://mlflow.internal:5001", False)):
        cfg = compose(["hydra/launcher=submitit_slurm", f"tracking.uri={uri}"], return_hydra_config=True)
        caplog.clear()
        sweep._warn_if_jobs_cannot_reach(cfg)
        assert ("not a store that SLURM jobs on other machines can share" in caplog.text) == warns, uri
    cfg = compose(["hydra/launcher=submitit_local"], return_hydra_config=True)
    caplog.clear()
    sweep._warn_if_jobs_cannot_reach(cfg)
    assert caplog.text == ""
