"""A real multi-process server for tests: gunicorn with the project's gunicorn.conf.py, on a free local port."""

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
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


def all_at_once(calls: list[Callable[[], requests.Response]], timeout: float = 60) -> list[requests.Response]:
    """Make each call (an HTTP request) from a thread of its own, all released at the same instant by a barrier,
    so that the server's workers race each other; the answers in the order of ``calls``."""
    barrier = threading.Barrier(len(calls))
    answers: list[requests.Response | None] = [None] * len(calls)
    errors: list[BaseException] = []

    def make(i: int) -> None:
        try:
            barrier.wait(timeout=timeout)
            answers[i] = calls[i]()
        except BaseException as exc:  # kept for the caller's thread, where pytest sees it
            errors.append(exc)

    threads = [threading.Thread(target=make, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout * 2)
    assert not errors, errors
    assert all(a is not None for a in answers), "a request thread did not finish"
    return answers
