"""A shared MLflow tracking server: PostgreSQL as the store, artifacts proxied over HTTP (``--serve-artifacts``).

    python -m polyglot_distill.tracking.server start [--port 5001] [--host 127.0.0.1]   # or: make mlflow-server
    python -m polyglot_distill.tracking.server status                                  # exit 0 when both run, else 3
    python -m polyglot_distill.tracking.server stop                                    # or: make mlflow-server-stop

Everything lives under the git-ignored state folder (``--state``, default ``.state``)::

    .state/postgres/data          the PostgreSQL cluster (initdb on first start)
    .state/postgres/postgres.log  its log
    .state/postgres.password      the password of the database role "mlflow" (mode 600)
    .state/mlartifacts/           the artifacts every run uploads through the server
    .state/mlflow-server.log      the server's log
    .state/mlflow-server.json     what runs: pids, ports, the tracking URI

PostgreSQL listens on 127.0.0.1 only (a free port picked at each start, no Unix socket) and asks for the
password (scram-sha-256); only the mlflow server connects to it. PostgreSQL refuses to run as root: as root,
its cluster belongs to the unprivileged user ``postgres`` (created by Debian's package; ``--pg-user`` picks
another) and every PostgreSQL command runs as that user through ``runuser``; as a normal user it runs as you.
The mlflow server runs as the caller, in its own process group, with ``MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false``.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

DB_ROLE = DB_NAME = "mlflow"
STATE_FILE = "mlflow-server.json"
NOT_RUNNING = 3  # the exit status of `status` when the server is down (as pg_ctl status)


class ServerError(RuntimeError):
    """Starting or stopping failed; the message says why and what to do."""


def pg_bin(name: str) -> str:
    """A PostgreSQL program: from PATH, else Debian's ``/usr/lib/postgresql/<version>/bin`` (newest version)."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(Path(p).parts[-3]))
    if not versions:
        raise ServerError(f"PostgreSQL's {name} was not found (PATH, /usr/lib/postgresql/*/bin): "
                          "run `make postgres` (Debian: apt-get install postgresql)")
    return versions[-1]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _port_taken(host: str, port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((host if host not in ("0.0.0.0", "") else "127.0.0.1", port)) == 0


class Layout:
    """The paths under the state folder, and who runs PostgreSQL."""

    def __init__(self, state: Path, pg_user: str | None = None):
        self.state = state.resolve()
        self.pg_dir = self.state / "postgres"
        self.pgdata = self.pg_dir / "data"
        self.pg_log = self.pg_dir / "postgres.log"
        self.password = self.state / "postgres.password"
        self.artifacts = self.state / "mlartifacts"
        self.log = self.state / "mlflow-server.log"
        self.file = self.state / STATE_FILE
        self.pg_user = pg_user if os.geteuid() == 0 else None  # root: run PostgreSQL as this user

    def as_pg_user(self, argv: list[str]) -> list[str]:
        return ["runuser", "-u", self.pg_user, "--", *argv] if self.pg_user else argv

    def pg(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(self.as_pg_user(list(argv)), capture_output=True, text=True, timeout=120)
        if check and proc.returncode != 0:
            tail = self.pg_log.read_text()[-2000:] if self.pg_log.exists() else ""
            raise ServerError(f"{' '.join(argv[:2])} failed (exit {proc.returncode}):\n{proc.stderr}{proc.stdout}{tail}")
        return proc


def _init_cluster(lay: Layout) -> None:
    """initdb a cluster owned by the PostgreSQL user, with the role "mlflow" as its password-protected superuser."""
    if lay.pg_user:
        import pwd

        try:
            pwd.getpwnam(lay.pg_user)
        except KeyError:
            raise ServerError(f"PostgreSQL refuses to run as root and user {lay.pg_user!r} does not exist: create "
                              f"it (useradd --system {lay.pg_user}) or name another with --pg-user") from None
    lay.pg_dir.mkdir(parents=True, exist_ok=True)
    if not lay.password.exists():
        lay.password.write_text(secrets.token_urlsafe(24))
        lay.password.chmod(0o600)
    pwfile = lay.pg_dir / "initdb.pw"
    pwfile.write_text(lay.password.read_text())
    pwfile.chmod(0o600)
    if lay.pg_user:
        shutil.chown(lay.pg_dir, lay.pg_user)
        shutil.chown(pwfile, lay.pg_user)
        if lay.pg(  # every folder above .state/postgres must be traversable by that user
                "test", "-w", str(lay.pg_dir), check=False).returncode != 0:
            raise ServerError(f"PostgreSQL runs as user {lay.pg_user!r} (it refuses root) and cannot write "
                              f"{lay.pg_dir}: make the folders above it traversable (chmod o+x) or use --state")
    try:
        lay.pg(pg_bin("initdb"), "-D", str(lay.pgdata), "-U", DB_ROLE, f"--pwfile={pwfile}", "-E", "UTF8",
               "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "--no-instructions")
    finally:
        pwfile.unlink(missing_ok=True)
    with (lay.pgdata / "postgresql.conf").open("a") as conf:  # appended as the owner wrote it (root can)
        conf.write("\n# polyglot-distill: loopback TCP only, no Unix socket\n"
                   "listen_addresses = '127.0.0.1'\nunix_socket_directories = ''\n")


def _pg_running(lay: Layout) -> bool:
    return (lay.pgdata / "postmaster.pid").exists() and \
        lay.pg(pg_bin("pg_ctl"), "status", "-D", str(lay.pgdata), check=False).returncode == 0


def _pg_port(lay: Layout) -> int:
    """The port of the running cluster (line 4 of postmaster.pid)."""
    return int((lay.pgdata / "postmaster.pid").read_text().splitlines()[3])


def _start_postgres(lay: Layout) -> int:
    if not (lay.pgdata / "PG_VERSION").exists():
        _init_cluster(lay)
    if _pg_running(lay):
        return _pg_port(lay)
    port = free_port()
    lay.pg(pg_bin("pg_ctl"), "start", "-D", str(lay.pgdata), "-l", str(lay.pg_log), "-w", "-t", "120",
           "-o", f"-p {port}")
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=port, user=DB_ROLE, dbname="postgres",
                         password=lay.password.read_text(), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone():
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    return port


def _stop_postgres(lay: Layout) -> None:
    if (lay.pgdata / "postmaster.pid").exists():
        lay.pg(pg_bin("pg_ctl"), "stop", "-D", str(lay.pgdata), "-m", "fast", "-w", "-t", "60", check=False)


def _alive(pid: int | None, marker: str) -> bool:
    """``pid`` runs and its command line contains ``marker`` (a pid file may outlive its process)."""
    if not pid:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        status = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return status != "Z" and marker in cmdline


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=5) as resp:
            return resp.status == 200
    except OSError:
        return False


def read_state(lay: Layout) -> dict:
    return json.loads(lay.file.read_text()) if lay.file.exists() else {}


def start(lay: Layout, host: str, port: int, workers: int, allowed_hosts: str | None, timeout: float) -> dict:
    """Start PostgreSQL and the mlflow server (or report the running ones); returns the state written."""
    state = read_state(lay)
    if _alive(state.get("mlflow_pid"), "mlflow") and _pg_running(lay):
        return state
    if _port_taken(host, port):
        raise ServerError(f"port {port} on {host} is in use: pick another (make mlflow-server PORT=5002)")
    lay.state.mkdir(parents=True, exist_ok=True)
    lay.artifacts.mkdir(parents=True, exist_ok=True)
    pg_port = _start_postgres(lay)
    mlflow = Path(sys.executable).with_name("mlflow")
    argv = [str(mlflow if mlflow.exists() else "mlflow"), "server",
            "--backend-store-uri", f"postgresql+psycopg://{DB_ROLE}@127.0.0.1:{pg_port}/{DB_NAME}",
            "--serve-artifacts", "--artifacts-destination", str(lay.artifacts),
            "--host", host, "--port", str(port), "--workers", str(workers)]
    if allowed_hosts:  # replaces mlflow's default list: keep this machine's own names (the health check uses them)
        argv += ["--allowed-hosts", f"{allowed_hosts},localhost,localhost:*,127.0.0.1,127.0.0.1:*"]
    # the password reaches libpq through the environment, never the command line (ps shows that)
    env = dict(os.environ, PGPASSWORD=lay.password.read_text(), MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
    with lay.log.open("ab") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                cwd=lay.state, start_new_session=True)  # its own group: stop ends every worker
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"
    state = {"mlflow_pid": proc.pid, "host": host, "port": port, "pg_port": pg_port, "url": url,
             "pgdata": str(lay.pgdata), "artifacts": str(lay.artifacts)}
    lay.file.write_text(json.dumps(state, indent=2))
    deadline = time.monotonic() + timeout
    while not _healthy(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            why = f"exited with {proc.returncode}" if proc.poll() is not None else f"not healthy after {timeout:.0f} s"
            stop(lay)
            raise ServerError(f"mlflow server {why}; its log {lay.log}:\n{lay.log.read_text()[-3000:]}")
        time.sleep(1)
    return state


def stop(lay: Layout, grace: float = 30) -> None:
    """SIGTERM the mlflow server's process group (SIGKILL after ``grace`` s), then a fast PostgreSQL shutdown."""
    pid = read_state(lay).get("mlflow_pid")
    if _alive(pid, "mlflow"):
        try:
            with_group = os.getpgid(pid) == pid
        except ProcessLookupError:  # ended meanwhile
            with_group = False
        kill = (lambda sig: os.killpg(pid, sig)) if with_group else (lambda sig: os.kill(pid, sig))
        kill(signal.SIGTERM)
        deadline = time.monotonic() + grace
        while _alive(pid, "mlflow") and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive(pid, "mlflow"):
            kill(signal.SIGKILL)
    _stop_postgres(lay)
    lay.file.unlink(missing_ok=True)


def status(lay: Layout) -> tuple[bool, str]:
    state = read_state(lay)
    pg = _pg_running(lay) if (lay.pgdata / "PG_VERSION").exists() else False
    server = _alive(state.get("mlflow_pid"), "mlflow") and _healthy(state["url"])
    lines = [f"postgres: {'running on 127.0.0.1:' + str(_pg_port(lay)) if pg else 'stopped'} ({lay.pgdata})",
             f"mlflow server: {'running, ' + state['url'] if server else 'stopped'} (artifacts in {lay.artifacts})"]
    return pg and server, "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m polyglot_distill.tracking.server", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument("--state", type=Path, default=Path(".state"), help="the git-ignored state folder")
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0: reachable from other machines")
    parser.add_argument("--port", type=int, default=5001, help="the mlflow server's port")
    parser.add_argument("--workers", type=int, default=2, help="the mlflow server's worker processes")
    parser.add_argument("--allowed-hosts", default=None,
                        help="Host headers to accept, e.g. login1.cluster:5001 (default: localhost and private IPs)")
    parser.add_argument("--pg-user", default=os.environ.get("POLYGLOT_DISTILL_PG_USER", "postgres"),
                        help="who runs PostgreSQL when this runs as root")
    parser.add_argument("--timeout", type=float, default=180, help="seconds to wait for the server to answer")
    args = parser.parse_args(argv)
    lay = Layout(args.state, args.pg_user)
    try:
        if args.command == "start":
            state = start(lay, args.host, args.port, args.workers, args.allowed_hosts, args.timeout)
            print(f"mlflow server on {state['url']} (PostgreSQL on 127.0.0.1:{state['pg_port']}, "
                  f"artifacts in {lay.artifacts}, log {lay.log})")
            print(f"log to it:  export MLFLOW_TRACKING_URI={state['url']}   or   train.py tracking=mlflow_server")
            return 0
        if args.command == "stop":
            stop(lay)
            print("mlflow server and PostgreSQL stopped")
            return 0
        ok, text = status(lay)
        print(text)
        return 0 if ok else NOT_RUNNING
    except ServerError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
