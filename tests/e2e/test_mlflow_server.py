"""``tracking=mlflow_server``: a real PostgreSQL and a real ``mlflow server --serve-artifacts`` on free loopback
ports (``python -m polyglot_distill.tracking.server``, what ``make mlflow-server`` runs), a two-job joblib sweep that
logs to it over HTTP, everything read back through the server, and every process started is stopped.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil
import pytest
from helpers import sweeps
from helpers.paths import REPO

from polyglot_distill.tracking import server

FAST, PARENT_TAG, SUMMARY, _split = sweeps.FAST, sweeps.PARENT_TAG, sweeps.SUMMARY, sweeps.split_runs
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PostgreSQL is started the Debian way")


def _server(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "polyglot_distill.tracking.server", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, env=dict(os.environ))


def _tree(pid: int) -> set[int]:
    proc = psutil.Process(pid)
    return {pid, *(child.pid for child in proc.children(recursive=True))}


def _running(pid: int) -> bool:
    """A zombie has exited (nobody reaped it yet: its parent, the `start` command, is gone)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture
def state_dir():
    """A state folder the unprivileged PostgreSQL user can reach when the tests run as root (pytest's own
    temporary folders are private to root: mode 700)."""
    folder = Path(tempfile.mkdtemp(prefix="polyglot-distill-server-"))
    folder.chmod(0o755)
    yield folder / "state"
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_a_sweep_logs_over_http_to_a_postgres_backed_server(cli, tmp_path, state_dir):
    state, port = state_dir, server.free_port()
    common = ["--state", str(state)]
    started = _server("start", *common, "--port", str(port), "--workers", "1")
    pids: set[int] = set()
    try:
        assert started.returncode == 0, started.stderr[-4000:]
        info = json.loads((state / server.STATE_FILE).read_text())
        url = info["url"]
        assert url == f"http://127.0.0.1:{port}" and f"mlflow server on {url}" in started.stdout
        postmaster = int((state / "postgres" / "data" / "postmaster.pid").read_text().splitlines()[0])
        pids = _tree(postmaster) | _tree(info["mlflow_pid"])
        assert psutil.Process(postmaster).username() != "root"  # PostgreSQL never runs as root
        again = _server("start", *common, "--port", str(port))  # already running: the same server, nothing new
        assert again.returncode == 0 and f"mlflow server on {url}" in again.stdout
        assert json.loads((state / server.STATE_FILE).read_text())["mlflow_pid"] == info["mlflow_pid"]
        status = _server("status", *common)
        assert status.returncode == 0 and f"running, {url}" in status.stdout, status.stdout

        sweep_dir = tmp_path / "multirun"
        proc = cli("-m", *FAST, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "languages.targets=[de],[fr]",
                   "tracking=mlflow_server", f"tracking.uri={url}", "tracking.log_model=false",
                   "tracking.system_metrics=false", f"hydra.sweep.dir={sweep_dir}", timeout=900)
        assert proc.returncode == 0, f"exit {proc.returncode}\n{(proc.stdout + proc.stderr)[-4000:]}"

        # everything read back through the server's REST API
        from mlflow.tracking import MlflowClient

        client = MlflowClient(url)
        experiment = client.get_experiment_by_name("polyglot-distill")
        assert experiment.artifact_location.startswith("mlflow-artifacts:/")  # proxied: jobs upload over HTTP
        parents, children = _split(client.search_runs([experiment.experiment_id]))
        assert len(parents) == 1 and len(children) == 2, [r.info.run_name for r in parents + children]
        (parent,) = parents
        assert parent.info.status == "FINISHED" and parent.data.metrics["sweep/jobs"] == 2
        assert SUMMARY <= {a.path for a in client.list_artifacts(parent.info.run_id)}
        for child, lang in zip(children, ["de", "fr"]):
            run_id = child.info.run_id
            assert child.data.tags[PARENT_TAG] == parent.info.run_id and child.info.status == "FINISHED"
            assert f"teacher_retrieval/en-{lang}/accuracy" in child.data.metrics
            history = client.get_metric_history(run_id, "selection")
            assert len(history) == 1 and history[0].value == child.data.metrics["selection"]
            names = {a.path for a in client.list_artifacts(run_id)}
            assert {"results.csv", "before_after.png", "config_resolved.yaml", "hydra"} <= names, names
            got = Path(client.download_artifacts(run_id, "results.csv", str(tmp_path / "dl" / lang)))
            job_dir = Path(child.data.tags["output_dir"])
            assert got.read_text() == (job_dir / "results.csv").read_text()
            # stored by the server under its artifacts folder, not by the job
            assert (state / "mlartifacts" / experiment.experiment_id / run_id / "artifacts" / "results.csv").exists()

        # and the store behind the server is the PostgreSQL database
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=info["pg_port"], user="mlflow", dbname="mlflow",
                             password=(state / "postgres.password").read_text()) as conn:
            ids = {row[0] for row in conn.execute("SELECT run_uuid FROM runs")}
        assert ids == {r.info.run_id for r in parents + children}
    finally:
        stopped = _server("stop", *common)
    assert stopped.returncode == 0, stopped.stderr[-3000:]
    assert pids and not [pid for pid in pids if _running(pid)]  # every process it started is gone
    assert not (state / server.STATE_FILE).exists() and not (state / "postgres" / "data" / "postmaster.pid").exists()
    status = _server("status", *common)
    assert status.returncode == server.NOT_RUNNING and "postgres: stopped" in status.stdout


def test_start_refuses_a_port_in_use(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = _server("start", "--state", str(tmp_path / "state"), "--port", str(port), timeout=60)
    assert proc.returncode == 1 and f"error: port {port} on 127.0.0.1 is in use" in proc.stderr
    assert not (tmp_path / "state" / "postgres").exists()  # checked before anything starts


def test_status_of_a_state_folder_with_nothing_running(tmp_path):
    proc = _server("status", "--state", str(tmp_path / "state"), timeout=60)
    assert proc.returncode == server.NOT_RUNNING
    assert "postgres: stopped" in proc.stdout and "mlflow server: stopped" in proc.stdout
