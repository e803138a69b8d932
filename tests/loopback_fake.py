"""What the provider fakes on loopback share: a threaded HTTP server, routing by
method and path pattern (unknown requests are remembered and answered 404),
ids, and the OAuth consent page that approves at once for ``signing_in``."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

Route = tuple[str, Any]


class LoopbackFake:
    authorize_path = "/oauth/authorize"
    extra_headers: dict[str, str] = {}

    def __init__(self, *, signing_in: str) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.signing_in = signing_in  # who approves the next OAuth consent
        self.unknown: list[str] = []  # requests this fake did not know
        self._ids = 700_000
        self._lock = threading.Lock()

    def start(self) -> Any:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()

    def routes(self, method: str) -> list[Route]:
        raise NotImplementedError

    def answer(self, method: str, path: str, query: dict, body: Any, headers) -> tuple:
        """(status, body) for one request; unknown ones are remembered, 404."""
        for pattern, handler in self.routes(method):
            found = re.fullmatch(pattern, path)
            if found:
                return handler(*found.groups(), query=query, body=body, headers=headers)
        self.unknown.append(f"{method} {path}")
        return 404, {"message": "Not Found"}

    def next_id(self) -> int:
        with self._lock:
            self._ids += 1
            return self._ids


def _handler_for(fake: LoopbackFake) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            url = urlsplit(self.path)
            if url.path == fake.authorize_path:
                # The person signing in approves at once: back with a code.
                query = parse_qs(url.query)
                target = (
                    query["redirect_uri"][0]
                    + "?"
                    + urlencode(
                        {"code": f"code-{fake.signing_in}", "state": query["state"][0]}
                    )
                )
                self.send_response(302)
                self.send_header("Location", target)
                self.end_headers()
                return
            self._answer("GET", None)

        def do_POST(self) -> None:  # noqa: N802
            self._answer("POST", self._body())

        def do_PUT(self) -> None:  # noqa: N802
            self._answer("PUT", self._body())

        def do_PATCH(self) -> None:  # noqa: N802
            self._answer("PATCH", self._body())

        def _body(self) -> Any:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if "json" in (self.headers.get("Content-Type") or ""):
                return json.loads(raw or b"{}")
            return parse_qs(raw.decode())

        def _answer(self, method: str, body: Any) -> None:
            # The raw path: GitLab's project paths arrive encoded (acme%2Fapi).
            path, _, query = self.path.partition("?")
            status, payload = fake.answer(
                method, path, parse_qs(query), body, self.headers
            )
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in fake.extra_headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler
