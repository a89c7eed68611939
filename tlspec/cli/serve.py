"""``tlspec serve RUN_DIR``: the run's model behind an HTTP JSON API until Ctrl-C."""

from __future__ import annotations

from pathlib import Path

from tlspec.errors import TlspecError


def register(commands) -> None:
    parser = commands.add_parser("serve", help="serve a trained run over HTTP (JSON; needs the serve extra)")
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--max-batch", type=int, default=32, metavar="N",
                        help="items one model call takes from concurrent requests (1: no micro-batching)")
    parser.add_argument("--max-wait-ms", type=float, default=5.0, metavar="MS",
                        help="how long a request waits for others to share its batch (default 5)")
    parser.add_argument("--max-request-bytes", type=int, default=10_000_000, metavar="BYTES",
                        help="largest request body accepted (default 10,000,000)")
    parser.add_argument("--max-items", type=int, default=256, metavar="N", help="most items in one request")
    parser.set_defaults(run=run)


def run(args) -> int:
    from tlspec.runs.serving import ServeSettings, serve

    bounds = (("--port", args.port, 0), ("--max-batch", args.max_batch, 1), ("--max-wait-ms", args.max_wait_ms, 0),
              ("--max-request-bytes", args.max_request_bytes, 1), ("--max-items", args.max_items, 1))
    for name, value, least in bounds:
        if value < least:
            raise TlspecError(f"{name} must be at least {least}, got {value:g}")
    if args.port > 65535:
        raise TlspecError(f"--port must be at most 65535, got {args.port}")
    serve(args.run_dir, ServeSettings(args.host, args.port, args.max_batch, args.max_wait_ms,
                                      args.max_request_bytes, args.max_items))
    return 0
