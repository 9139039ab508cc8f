"""python -m fake_github --port 8765 [--host 127.0.0.1] [--issues N [--open-prs P]]
[--token T] [--delay S]"""

import argparse
import signal
import sys

from fake_github import FakeGitHub, bulk_dataset, demo_dataset


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Serve a GitHub-shaped API on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--issues", type=int, default=0, help="serve N synthetic issues/PRs")
    parser.add_argument("--open-prs", type=int, default=0, help="with --issues: open PRs")
    parser.add_argument(
        "--repos", type=int, default=1, help="with --issues: serve tensorflow/bench-00..NN"
    )
    parser.add_argument("--token", default=None, help="require this token")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds per request")
    args = parser.parse_args(argv)
    dataset = bulk_dataset(args.issues, open_prs=args.open_prs) if args.issues else demo_dataset()
    more = []
    if args.issues and args.repos > 1:
        for i in range(args.repos):
            ds = bulk_dataset(args.issues, open_prs=args.open_prs) if i else dataset
            ds.name = f"bench-{i:02d}"
            more.append(ds)
        more = more[1:]
    server = FakeGitHub(
        dataset, host=args.host, port=args.port, token=args.token, delay=args.delay, more=more
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"GitHub-shaped API on {server.url} serving {dataset.full_name}", flush=True)
    try:
        server.httpd.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
