"""`make run` serves through gunicorn with the project's settings (gunicorn.conf.py), names
no server software in any response, logs requests without their query strings, and Ctrl-C
stops the web server and the job worker together.  SQLite, the embedded default."""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.test_production import free_port

ROOT = Path(__file__).resolve().parent.parent
#: A Server header naming software (gunicorn, Werkzeug, Python, a version number) is refused.
SOFTWARE = re.compile(r"gunicorn|werkzeug|python|\d+\.\d+", re.IGNORECASE)


def wait_for(url: str, process: subprocess.Popen[bytes], log: Path, seconds: float = 120) -> requests.Response:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            return requests.get(url, timeout=2)
        except requests.RequestException:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer:\n{log.read_text()}")


def names_no_software(response: requests.Response) -> None:
    server = response.headers.get("Server")
    assert server is None or not SOFTWARE.search(server), server


def group_alive(pgid: int) -> list[str]:
    """The command lines of the processes still in the process group."""
    alive = []
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                alive.append((status.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
    return alive


@pytest.fixture
def instance(sqlite_template: Path, tmp_path: Path) -> dict[str, str]:
    """The environment of a fresh deployment in tmp_path (a migrated SQLite copy)."""
    folder = tmp_path / "instance"
    folder.mkdir()
    shutil.copyfile(sqlite_template, folder / "floorplans.sqlite3")
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLOORPLANS_")}
    env["FLOORPLANS_INSTANCE_PATH"] = str(folder)
    return env


@pytest.mark.slow  # starts gunicorn
def test_gunicorn_with_the_project_settings_names_no_software(instance: dict[str, str], tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "web.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
             "--workers", "2"], cwd=ROOT, env=instance, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        login = wait_for(f"http://127.0.0.1:{port}/login?next=/r/lookup%3Faddress%3D1%2BSecret%2BRoad", process, log)
        assert login.status_code == 200 and "Sign in" in login.text
        names_no_software(login)
        assert "Server" not in login.headers
        for path in ("/healthz", "/nowhere", "/r/", "/api/v1/buildings"):
            response = requests.get(f"http://127.0.0.1:{port}{path}", timeout=5, allow_redirects=False)
            assert "Server" not in response.headers, path
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(30)
    written = log.read_text()
    # gunicorn's own log and the access log, by the project's settings: the path, never the query string.
    assert "Booting worker" in written and '"GET /login HTTP/1.1" 200' in written, written
    # Each worker froze the loaded app out of the garbage collector's full passes (~100 ms each).
    frozen = [int(n) for n in re.findall(r"(\d+) objects frozen out of the garbage collector", written)]
    assert frozen and min(frozen) > 10_000, written
    assert "Secret" not in written and "address" not in written


@pytest.mark.slow
def test_make_run_serves_with_gunicorn_and_ctrl_c_stops_everything(instance: dict[str, str], tmp_path: Path) -> None:
    """The README's command, as typed (the app is already installed by the time tests run:
    `-o` keeps make from reinstalling it when setup.cfg is newer than the last install)."""
    port, log = free_port(), tmp_path / "make-run.log"
    (Path(instance["FLOORPLANS_INSTANCE_PATH"]) / "floorplans.sqlite3").unlink()  # make run migrates it itself
    with log.open("wb") as out:
        make = subprocess.Popen(["make", "-o", ".venv/.installed-app", "run", f"PORT={port}"], cwd=ROOT,
                                env=instance, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        login = wait_for(f"http://127.0.0.1:{port}/login", make, log, seconds=240)
        assert login.status_code == 200
        names_no_software(login)
        running = group_alive(make.pid)
        assert any("gunicorn" in command for command in running), running
        assert any("jobs worker" in command for command in running), running
        assert not any("flask --app wsgi run" in command or " run --host" in command for command in running), running
    finally:
        os.killpg(make.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends: the whole foreground group
        make.wait(60)
    deadline = time.monotonic() + 30
    while group_alive(make.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert group_alive(make.pid) == [], log.read_text()
    assert "floorplans is starting on" in log.read_text()
