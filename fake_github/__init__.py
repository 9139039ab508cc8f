"""The project's GitHub-shaped HTTP server (tests, bench, offline demo).

    from fake_github import FakeGitHub, demo_dataset
    with FakeGitHub(demo_dataset()) as server:      # port 0: a free port, in a thread
        client = GitHubClient("tensorflow/model-optimization", base_url=server.url)

Run it alone: ``python -m fake_github --port 8765`` (``--issues N`` serves a
synthetic repository of N issues and PRs instead of the demo).
"""

from fake_github.dataset import Dataset, bulk_dataset
from fake_github.demo import demo_dataset
from fake_github.server import FakeGitHub

__all__ = ["Dataset", "FakeGitHub", "bulk_dataset", "demo_dataset"]
