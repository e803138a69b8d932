"""A local stand-in for Slack's Web API: answers ``users.lookupByEmail`` and
``chat.postMessage`` with Slack's documented example answers
(tests/provider_responses/slack), and keeps every request it got."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

RECORDED = Path(__file__).resolve().parents[1] / "provider_responses" / "slack"


def recorded(name: str) -> dict:
    return json.loads((RECORDED / name).read_text())


class FakeSlack:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict, dict]] = []  # method, params, headers
        # method -> (status, body, headers) answered next (default: success)
        self.answers: dict[str, tuple[int, dict, dict]] = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                parts = urlsplit(self.path)
                method = parts.path.rsplit("/", 1)[-1]
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                params = {
                    key: values[0] for key, values in parse_qs(parts.query).items()
                }
                if raw:
                    kind = self.headers.get("Content-Type", "")
                    params |= (
                        json.loads(raw)
                        if "json" in kind
                        else {k: v[0] for k, v in parse_qs(raw).items()}
                    )
                fake.requests.append((method, params, dict(self.headers)))
                status, body, headers = fake.answers.get(
                    method, (200, fake.default(method), {})
                )
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer  # noqa: N815 (http.server's names)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @staticmethod
    def default(method: str) -> dict:
        return recorded(
            {
                "users.lookupByEmail": "users_lookup_by_email.json",
                "chat.postMessage": "chat_post_message.json",
            }[method]
        )

    def calls(self, method: str) -> list[dict]:
        return [params for name, params, _ in self.requests if name == method]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
