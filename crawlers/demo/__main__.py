"""Serve the demo site in the foreground: `python -m crawlers.demo [--host H] [--port P]`."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from crawlers.demo.server import serve_demo


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Treat SIGINT and SIGTERM alike so both shut down the same clean way."""
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run the server until Ctrl-C or SIGTERM; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m crawlers.demo",
        description="Serve the generated Demo Daily news site until Ctrl-C.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=8000, help="port, 0 for any free one (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    try:
        server = serve_demo(args.host, args.port)
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    # Install both explicitly: a process started in the background inherits an ignored SIGINT.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"Demo Daily is serving at {server.url}/ (press Ctrl-C to stop)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("Stopping.", flush=True)
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
