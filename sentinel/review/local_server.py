"""The review app served on this machine for a program that drives a browser (the browser
tests, ``scripts/review_screenshots.py``): ``sentinel review`` in a subprocess on a free
localhost port, over plain http, in Chinese."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

__all__ = ["SENTINEL", "review_served"]

#: The command line, run with this interpreter.
SENTINEL = [sys.executable, "-m", "sentinel.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def review_served(out: Path, env: Mapping[str, str], site_dir: Path) -> Iterator[str]:
    """Serve the review app on the output folder ``out`` while the block runs; yields its
    URL once the login page answers. The site configuration is written to ``site_dir``.
    RuntimeError, with what the server printed, when it has not started within a minute."""
    site = site_dir / "site.toml"
    # Plain http on localhost: the session cookie cannot be Secure here.
    site.write_text('[review]\nlanguage = "zh"\nsecure_cookies = false\n', encoding="utf-8")
    port = _free_port()
    server = subprocess.Popen(
        [*SENTINEL, "review", "--out", str(out), "--port", str(port), "--config", str(site)],
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _answers(f"{url}/login"):
            if server.poll() is not None or time.monotonic() > deadline:
                output = server.stdout.read().decode() if server.stdout else ""
                raise RuntimeError(f"sentinel review did not start:\n{output}")
            time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
