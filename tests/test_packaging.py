"""An installed platform is complete and speaks Chinese first: the wheel built from the files of the checkout that
git keeps (no compiled catalogs among them), installed with its dependencies into a fresh virtual environment, and
served by gunicorn from a folder outside the checkout, as docs/deployment.md describes.

The build uses pip's build isolation (setuptools and Babel from the package index) and the install resolves the
dependencies from the index too, so the test needs the index reachable; it takes about 40 s."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import requests

from .e2e.browser import zh
from .live import ROOT, free_port

PIP = [sys.executable, "-m", "pip"]


def run(command: list, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def checkout_copy(target: Path) -> Path:
    """The files git keeps (committed or new, never the ignored ones such as ``*.mo``), as a fresh clone has."""
    listed = run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"]).stdout
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def test_an_installed_wheel_serves_the_pages_in_chinese(tmp_path):
    source = checkout_copy(tmp_path / "source")
    assert not list(source.rglob("*.mo"))
    run([*PIP, "wheel", "--no-deps", "--quiet", "--wheel-dir", str(tmp_path / "dist"), str(source)])
    (wheel,) = (tmp_path / "dist").glob("metrology_booking-*.whl")

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    run([*PIP, "--python", str(venv / "bin" / "python"), "install", "--quiet", str(wheel)])

    site = tmp_path / "site"
    site.mkdir()
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(site),
        "LANG": "C.UTF-8",
        "BOOKING_DATABASE_URL": f"sqlite:///{site / 'booking.sqlite'}",
        "BOOKING_SECRET_KEY": "packaging-test-secret",
    }
    where = run([venv / "bin" / "python", "-c", "import booking; print(booking.__file__)"], cwd=site, env=env)
    assert where.stdout.strip().startswith(str(venv)), where.stdout
    run([venv / "bin" / "flask", "--app", "booking", "db", "upgrade"], cwd=site, env=env)

    port = free_port()
    command = [venv / "bin" / "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1", "booking:create_app()"]
    log = site / "gunicorn.log"
    with log.open("w") as out:
        server = subprocess.Popen(command, cwd=site, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    chinese = {"Accept-Language": "zh-CN"}
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, log.read_text()
            try:
                requests.get(base + "/login", timeout=10)
                break
            except (requests.ConnectionError, requests.Timeout):
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        home = requests.get(base + "/", headers=chinese, timeout=10)
        assert home.status_code == 200, log.read_text()
        assert zh("shared resources") in home.text and "shared resources" not in home.text
        login = requests.get(base + "/login", headers=chinese, timeout=10)
        assert login.status_code == 200, log.read_text()
        assert f"<title>{zh('Sign in')}" in login.text and "Sign in" not in login.text
        assert requests.get(base + "/static/css/app.css", timeout=10).status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=20)
    assert os.path.getsize(log) == 0 or "Traceback" not in log.read_text()
