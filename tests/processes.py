"""For tests that run real processes (workers, beat, servers): a free loopback port, and
waiting for a condition without sleeping longer than needed."""

import socket
import time
from pathlib import Path

import pytest


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
