"""schemathesis fuzzes every operation of the OpenAPI schema over HTTP: never a 5xx."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_api_never_answers_a_server_error(live_server, pruning, clustering):
    cli = shutil.which("st", path=str(Path(sys.executable).parent))
    assert cli, "schemathesis is installed by requirements-dev.txt"
    result = subprocess.run(
        [
            cli,
            "run",
            f"{live_server.url}/api/schema/",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "8",
            "--request-timeout",
            "10",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
