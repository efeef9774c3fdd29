"""The MLflow UI in a real browser: a real store, the real ``mlflow ui``, headless Chromium.

Two real runs (``train.py experiment=smoke`` through the CLI: one on de+fr, one on fr only) and a two-job sweep
(its own experiment: a parent run and a child per job) log into a temporary SQLite store; ``.venv/bin/mlflow ui`` serves it on a free loopback port; headless Chromium (Debian's
``chromium``, installed by ``make browser``, which ``make test`` runs) opens the experiment's runs page and each
run's page. The UI is a React single-page app: ``--dump-dom`` with ``--virtual-time-budget`` lets it fetch
from the server and render before the DOM is written, so the test reads what a user would see, and
``--screenshot`` saves the same page as a PNG. Checked: both runs are listed, each run page shows its own
per-language metrics with the store's values (the fr-only run has no ``en-de`` metric), the runs page sorts by
``teacher_retrieval/en-de/accuracy`` when its URL asks for it, the server listens on 127.0.0.1 only, the
screenshots are 1600x1000 PNGs. Every process started here (the server with its workers, the browser with its
helpers) runs in its own session and is stopped, and waited for, even when the test fails.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import psutil
import pytest
from helpers.cli import train_cli
from helpers.paths import REPO

MLFLOW = Path(sys.executable).with_name("mlflow")  # .venv/bin/mlflow next to .venv/bin/python
WINDOW = (1600, 1000)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
METRIC = "teacher_retrieval/en-de/accuracy"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
INSTALL_HINT = ("chromium is not installed (tests/e2e/test_ui.py drives it headless against the MLflow UI): run "
                "`make browser` (as root, or with sudo: apt-get install -y --no-install-recommends chromium)")


def find_chromium() -> str:
    """Debian's ``chromium`` on PATH; a clear failure (never a skip) when it is missing."""
    path = shutil.which("chromium")
    if path is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    return path


# ---------------------------------------------------------------------------------------------- processes


def _session_members(sid: int) -> list[psutil.Process]:
    out = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if os.getsid(proc.pid) == sid:
                out.append(proc)
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
    return out


def stop_session(proc: subprocess.Popen, grace: float = 15.0) -> list[str]:
    """Stop ``proc`` (started with ``start_new_session=True``) and everything in its session.

    SIGTERM to the process group, wait for the leader (reaped here, so it is no zombie), then wait for the
    rest (e.g. uvicorn's workers, orphaned helpers, which PID 1 reaps); SIGKILL what is left. Returns a
    description of what survived even that (empty when all is gone).
    """
    sid = proc.pid
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(sid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        deadline = time.monotonic() + wait
        while _session_members(sid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if not _session_members(sid):
            return []
    if proc.poll() is None:  # not even SIGKILL: reap it if it goes later rather than leave a zombie
        proc.wait(timeout=5)
    left = []
    for member in _session_members(sid):
        try:
            left.append(f"{member.pid} {member.status()} {' '.join(member.cmdline())[:120]}")
        except psutil.Error:  # gone meanwhile
            continue
    return left


# ---------------------------------------------------------------------------------------------- the store


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Two real smoke runs through the CLI into ``<tmp>/mlflow.db``: ``both`` (de, fr) and ``fr-only``; built once
    for the module's two browser tests (~65 s here)."""
    find_chromium()  # fail before spending ~40 s on training when the browser is missing
    tmp_path = tmp_path_factory.mktemp("ui-store")
    cli = train_cli(tmp_path)
    db = tmp_path / "mlflow.db"
    common = ["experiment=smoke", "save_model=false", "eval.udhr_languages=[]", f"tracking.uri=sqlite:///{db}"]
    for name, extra in (("both", []),
                        ("fr-only", ["languages.targets=[fr]", "data.max_train_pairs=40", "data.max_dev_pairs=20",
                                     "data.max_test_pairs=40", "optimizer.max_steps=2", "eval.sts_pairs=50"])):
        proc = cli(*common, *extra, f"tracking.run_name=ui-{name}", f"hydra.run.dir={tmp_path / name}")
        assert proc.returncode == 0, f"{name}: exit {proc.returncode}\n{proc.stderr[-4000:]}"
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{db}")
    experiment = client.get_experiment_by_name("polyglot-distill")
    runs = {run.info.run_name: run for run in client.search_runs([experiment.experiment_id])}
    assert sorted(runs) == ["ui-both", "ui-fr-only"], sorted(runs)
    # and a two-job sweep (a parent run, a child per job) in an experiment of its own, in the same store
    proc = cli("-m", *common, "tracking.experiment=ui-sweep", "languages.targets=[de],[fr]", "data.max_train_pairs=40",
               "optimizer.max_steps=2", "eval.sts_pairs=50", f"hydra.sweep.dir={tmp_path / 'sweep'}")
    assert proc.returncode == 0, f"sweep: exit {proc.returncode}\n{proc.stderr[-4000:]}"
    sweep_exp = client.get_experiment_by_name("ui-sweep")
    sweep_runs = client.search_runs([sweep_exp.experiment_id])
    parents = [r for r in sweep_runs if "mlflow.parentRunId" not in r.data.tags]
    children = sorted((r for r in sweep_runs if "mlflow.parentRunId" in r.data.tags),
                      key=lambda r: r.data.tags["sweep.job"])
    assert len(parents) == 1 and len(children) == 2, [r.info.run_name for r in sweep_runs]
    return {"db": db, "experiment_id": experiment.experiment_id, "runs": runs,
            "sweep": {"experiment_id": sweep_exp.experiment_id, "parent": parents[0], "children": children}}


# ---------------------------------------------------------------------------------------------- the server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _get(url: str, timeout: float = 5) -> tuple[int, bytes]:
    with _NO_PROXY.open(url, timeout=timeout) as resp:
        return resp.status, resp.read()


@pytest.fixture(scope="module")
def mlflow_ui(store, tmp_path_factory):
    """``mlflow ui`` over the store on a free port of 127.0.0.1, as ``make ui`` starts it; stopped afterwards."""
    assert MLFLOW.exists(), f"{MLFLOW} is missing: run `make setup`"
    port = _free_port()
    tmp_path = tmp_path_factory.mktemp("ui-server")
    log = tmp_path / "mlflow-ui.log"
    env = dict(os.environ)
    # Background jobs (GenAI judges, trace rollups) are no part of viewing runs: spares ~7 huey processes.
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    cmd = [str(MLFLOW), "ui", "--backend-store-uri", f"sqlite:///{store['db']}", "--host", "127.0.0.1",
           "--port", str(port), "--workers", "1"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, f"mlflow ui exited {proc.returncode}:\n{log.read_text()[-4000:]}"
            try:
                if _get(f"{base}/health")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"mlflow ui did not answer in 120 s:\n{log.read_text()[-4000:]}"
            time.sleep(0.5)
        yield {"url": base, "port": port, "proc": proc, "log": log}
    finally:
        left = stop_session(proc)
        assert not left, f"mlflow ui left processes behind: {left}"


# ---------------------------------------------------------------------------------------------- the browser


class _Text(HTMLParser):
    """The visible text nodes of a DOM dump, stripped, in document order (no scripts, styles or SVG)."""

    HIDDEN = {"script", "style", "noscript", "svg", "template"}

    def __init__(self):
        super().__init__()
        self.hidden = 0
        self.nodes: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.hidden += tag in self.HIDDEN

    def handle_endtag(self, tag):
        self.hidden -= tag in self.HIDDEN and self.hidden > 0

    def handle_data(self, data):
        if not self.hidden and data.strip():
            self.nodes.append(data.strip())


def text_nodes(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return parser.nodes


@pytest.fixture
def browser(tmp_path):
    """``render(url, screenshot, expect) -> list[str]``: the page's visible text after the app has rendered.

    One headless Chromium per page, with a fresh profile under ``tmp_path``, writing the DOM (``--dump-dom``)
    and a ``--window-size`` screenshot once the page is idle (``--virtual-time-budget``). When a text in
    ``expect`` is missing (a slow server on a busy machine), the page is loaded again with a larger budget.
    """
    chromium = find_chromium()
    started: list[subprocess.Popen] = []

    def render(url: str, screenshot: Path, expect: tuple[str, ...] = ()) -> list[str]:
        nodes: list[str] = []
        for attempt, budget in enumerate((20_000, 60_000, 120_000)):
            profile = tmp_path / f"chromium-profile-{len(started)}"
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            screenshot.unlink(missing_ok=True)
            cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                   f"--window-size={WINDOW[0]},{WINDOW[1]}", f"--virtual-time-budget={budget}",
                   "--dump-dom", f"--screenshot={screenshot}", url]
            proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
            started.append(proc)
            try:
                out, err = proc.communicate(timeout=90 + budget / 1000)
            finally:
                left = stop_session(proc, grace=5)  # the helpers (zygote, renderer, crashpad) go with it
            assert not left, f"chromium left processes behind: {left}"
            stderr = err.decode(errors="replace")
            assert proc.returncode == 0, f"chromium exited {proc.returncode} on {url}:\n{stderr[-3000:]}"
            nodes = text_nodes(out.decode(errors="replace"))
            if all(text in nodes for text in expect):
                break
        return nodes

    yield render
    leftovers = [left for proc in started for left in stop_session(proc, grace=5)]
    assert not leftovers, f"chromium left processes behind: {leftovers}"


def assert_png(path: Path, size: tuple[int, int] = WINDOW) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, f"{path} is not a PNG"
    assert data[12:16] == b"IHDR", f"{path}: no IHDR chunk"
    assert struct.unpack(">II", data[16:24]) == size, (path, struct.unpack(">II", data[16:24]))
    import matplotlib.image

    pixels = matplotlib.image.imread(str(path))  # decodes every chunk: a truncated file fails here
    assert pixels.shape[:2] == (size[1], size[0]), pixels.shape
    assert pixels.std() > 0.01, f"{path} is blank"


def _value_after(nodes: list[str], label: str) -> str:
    """The cell after the first cell that is exactly ``label`` (the metrics table: name, value, model)."""
    assert label in nodes, f"{label!r} is not on the page"
    return nodes[nodes.index(label) + 1]


# ---------------------------------------------------------------------------------------------- the tests


def test_the_mlflow_ui_shows_the_runs_and_their_per_language_metrics(store, mlflow_ui, browser, tmp_path):
    base, exp_id = mlflow_ui["url"], store["experiment_id"]
    shots = tmp_path / "screenshots"

    # the server listens on the loopback interface only
    listening = {c.laddr.ip for c in psutil.net_connections("tcp")
                 if c.status == psutil.CONN_LISTEN and c.laddr.port == mlflow_ui["port"]}
    assert listening == {"127.0.0.1"}, listening

    # the experiment's runs page lists both runs, sorted by a per-language metric (as a user picks it in "Sort")
    sort = urllib.parse.urlencode({"orderByKey": f"metrics.`{METRIC}`", "orderByAsc": "false"},
                                  quote_via=urllib.parse.quote)
    nodes = browser(f"{base}/#/experiments/{exp_id}/runs?{sort}", shots / "experiment.png",
                    expect=("ui-both", "ui-fr-only", f"Sort: {METRIC}"))
    assert "polyglot-distill" in nodes and f"Sort: {METRIC}" in nodes, nodes[:60]
    assert {"ui-both", "ui-fr-only"} <= set(nodes), nodes[:200]
    # by creation time ui-fr-only (the later run) would come first; by the metric, the run that has it does
    assert nodes.index("ui-both") < nodes.index("ui-fr-only"), nodes[:200]
    assert nodes[nodes.index("matching runs") - 1] == "2", nodes[-40:]
    assert_png(shots / "experiment.png")

    # each run's page shows its own per-language metrics, with the values in the store
    for name, run in store["runs"].items():
        shot = shots / f"run-{name}.png"
        metrics = run.data.metrics
        nodes = browser(f"{base}/#/experiments/{exp_id}/runs/{run.info.run_id}", shot,
                        expect=(name, "teacher_retrieval/en-fr/accuracy"))
        assert name in nodes and run.info.run_id in nodes, nodes[:100]
        shown = {f"Metrics ({len(metrics)})",  # with or without MLflow's own system/... metrics (every 10 s)
                 f"Metrics ({sum(not k.startswith('system/') for k in metrics)})"}
        assert shown & set(nodes), [n for n in nodes if n.startswith("Metrics")]
        for key in ("teacher_retrieval/en-fr/accuracy", "sts_teacher/en-fr/spearman", "retrieval/en-fr/accuracy"):
            assert float(_value_after(nodes, key)) == pytest.approx(metrics[key], rel=1e-9), key
        if name == "ui-both":
            assert float(_value_after(nodes, METRIC)) == pytest.approx(metrics[METRIC], rel=1e-9)
            assert re.search(r"^baseline/teacher/.*/en-de/", "\n".join(nodes), flags=re.M)
        else:
            assert METRIC not in metrics and METRIC not in nodes  # the page is this run's, not the other's
        assert_png(shot)
    print(f"screenshots: {sorted(str(p) for p in shots.glob('*.png'))}")


def test_a_missing_chromium_fails_with_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no chromium on PATH
    hint = r"chromium is not installed.*make browser.*apt-get install -y --no-install-recommends chromium"
    with pytest.raises(pytest.fail.Exception, match=hint):
        find_chromium()


def test_make_ui_binds_loopback_unless_host_is_given_and_make_test_installs_the_browser():
    def dry_run(*args: str, **env: str) -> str:
        proc = subprocess.run(["make", "-n", *args], cwd=REPO, capture_output=True, text=True, timeout=30,
                              env={**{k: v for k, v in os.environ.items() if k != "HOST"}, **env})
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    assert re.search(r"mlflow ui .*--host 127\.0\.0\.1 ", dry_run("ui"))
    assert re.search(r"mlflow ui .*--host 127\.0\.0\.1 ", dry_run("ui", HOST="myhost"))  # csh exports HOST
    assert re.search(r"mlflow ui .*--host 0\.0\.0\.0 ", dry_run("ui", "HOST=0.0.0.0"))
    install = "apt-get install -y -q --no-install-recommends chromium"
    assert install in dry_run("browser") and install in dry_run("test")


def test_the_mlflow_ui_shows_a_sweep_and_its_jobs_metrics(store, mlflow_ui, browser, tmp_path):
    """The sweep's experiment page lists its parent run; each job's page shows its per-language metric."""
    base, sweep = mlflow_ui["url"], store["sweep"]
    shots = tmp_path / "screenshots"
    parent = sweep["parent"]
    nodes = browser(f"{base}/#/experiments/{sweep['experiment_id']}/runs", shots / "sweep.png",
                    expect=(parent.info.run_name,))
    assert parent.info.run_name in nodes, nodes[:200]  # "sweep languages.targets=[de],[fr]", its jobs folded under it
    assert nodes[nodes.index("matching runs") - 1] == "3", nodes[-40:]  # the parent and its two jobs
    assert_png(shots / "sweep.png")
    for child, lang in zip(sweep["children"], ["de", "fr"]):
        key = f"teacher_retrieval/en-{lang}/accuracy"
        nodes = browser(f"{base}/#/experiments/{sweep['experiment_id']}/runs/{child.info.run_id}",
                        shots / f"sweep-job-{lang}.png", expect=(child.info.run_id, key))
        assert child.info.run_id in nodes, nodes[:100]
        assert float(_value_after(nodes, key)) == pytest.approx(child.data.metrics[key], rel=1e-9), key
        assert_png(shots / f"sweep-job-{lang}.png")
