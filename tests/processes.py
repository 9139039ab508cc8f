"""For tests that run real processes (workers, beat, servers, manage.py): a free loopback
port, waiting for a condition without sleeping longer than needed, and manage.py."""

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, log: Path | None = None):
    """``predicate()``'s first true value within ``timeout`` seconds; else the test fails,
    with the end of ``log`` when the process under test writes one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    tail = f"; log:\n{log.read_text()[-6000:]}" if log else ""
    pytest.fail(f"timed out waiting for {what}{tail}")


def manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    """``manage.py`` with ``args`` in a process of its own, with ``env`` as its whole
    environment; its output comes back as text."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
