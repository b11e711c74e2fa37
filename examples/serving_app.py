"""A serving process that follows an alias and hot-swaps the model with zero downtime.

    export MODELYARD_URL=http://127.0.0.1:8080          # and MODELYARD_TOKEN if auth is on
    python examples/serving_app.py models/fraud-detector@production --port 9000
    curl -s localhost:9000/predict -d '{"x": [1, 2, 3]}'

The "model" here is a JSON file (``model.json`` with ``weights`` and ``bias``) so the example needs
nothing beyond the SDK; a real app passes a loader that calls joblib, torch, onnxruntime, ...
Move the alias (``modelyard alias set models/fraud-detector production 4``) and the next requests
are answered by version 4, while requests in flight finish on the version they started with.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from modelyard import Client, VersionOut
from modelyard.serving import ModelHandle


@dataclass(frozen=True)
class LinearModel:
    version: int
    weights: list[float]
    bias: float

    def predict(self, x: list[float]) -> float:
        return sum(w * v for w, v in zip(self.weights, x, strict=False)) + self.bias


def load_model(path: Path, version: VersionOut) -> LinearModel:
    """The loader ModelHandle calls on a fully downloaded, verified version folder."""
    data = json.loads((path / "model.json").read_text())
    return LinearModel(version.number, [float(w) for w in data["weights"]], float(data.get("bias", 0.0)))


def make_server(handle: ModelHandle[LinearModel], host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """An HTTP server whose /predict uses whatever version the handle holds when the request starts."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
            model = handle.model  # take it once: this request uses one version from start to end
            answer = json.dumps({"version": model.version, "prediction": model.predict(body.get("x", []))}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def do_GET(self) -> None:  # noqa: N802 - /health
            answer = json.dumps({"target": handle.target, "version": handle.version}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", help="registry/collection@alias")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--cache-dir", default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    client = Client.from_env()
    cache = args.cache_dir or tempfile.mkdtemp(prefix="modelyard-serving-")
    with ModelHandle(
        client,
        args.target,
        cache_dir=cache,
        loader=load_model,
        on_swap=lambda loaded: logging.info("now serving version %s", loaded.version.number),
    ) as handle:
        server = make_server(handle, port=args.port)
        logging.info("serving %s (version %s) on http://127.0.0.1:%s", args.target, handle.version, args.port)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()


if __name__ == "__main__":
    main()
