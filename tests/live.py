"""A real multi-process server for tests: gunicorn with the project's gunicorn.conf.py, on a free local port."""

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn_server(db_url: str, workers: int = 4, log_path: Path | None = None, env: dict | None = None):
    """Serve ``wsgi:app`` on ``db_url`` with ``workers`` processes; yields the base URL."""
    port = free_port()
    server_env = dict(os.environ)
    server_env.update(
        BOOKING_DATABASE_URL=db_url,
        BOOKING_SECRET_KEY="live-test-secret",
        BOOKING_BIND=f"127.0.0.1:{port}",
        BOOKING_WORKERS=str(workers),
        BOOKING_ACCESS_LOG="",
        BOOKING_LOG_LEVEL="warning",
        # Plain HTTP on the loopback, like `make run`: cookies marked Secure would not come back.
        BOOKING_SECURE_COOKIES="false",
    )
    server_env.update(env or {})
    log = open(log_path, "w") if log_path else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=server_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {proc.returncode}; see {log_path}")
            try:
                if requests.get(base + "/api/v1/me", timeout=2).status_code == 401:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not answer within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log_path:
            log.close()
