"""A loopback stand-in for an OpenAI-compatible chat completions endpoint.

The real ``openai`` client talks to it over HTTP (``base_url=fake.base_url``), so tests cover the
client's own timeout, status and parsing behaviour. Each request takes the next scripted reply;
with none left it answers the ``default`` reply (a 500 unless a test sets one).

    with FakeOpenAI() as fake:
        fake.answer_json({"duration_hours": 12, "reasoning": "short job"})
        fake.answer_text("certainly! here is some prose")   # garbage
        fake.hang(seconds=5)                                 # past a short client timeout
        fake.rate_limit()                                    # 429
        advisor = Advisor(base_url=fake.base_url, api_key="test-key", model="m", max_retries=0)
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    """What the stand-in does with one request."""

    status: int = 200
    content: str | None = None
    raw_body: str | None = None
    hang_seconds: float = 0.0


@dataclass(frozen=True)
class ReceivedRequest:
    path: str
    body: dict[str, Any]
    authorization: str | None

    @property
    def user_prompt(self) -> str:
        return next(
            (m["content"] for m in self.body.get("messages", []) if m.get("role") == "user"), ""
        )


class FakeOpenAI:
    """A scripted chat completions server on 127.0.0.1 and a free port."""

    def __init__(self) -> None:
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.default = Reply(status=500, raw_body='{"error": {"message": "no scripted reply"}}')
        self.requests: list[ReceivedRequest] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        # A short poll interval keeps shutdown (once per test) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # --- scripting ---------------------------------------------------------------------------

    def answer_json(self, data: Any, *, times: int = 1) -> None:
        self.push(Reply(content=json.dumps(data)), times=times)

    def answer_text(self, text: str, *, times: int = 1) -> None:
        self.push(Reply(content=text), times=times)

    def answer_garbage_body(self, *, times: int = 1) -> None:
        """A 200 whose body is not even JSON."""
        self.push(Reply(raw_body="<html>upstream exploded</html>"), times=times)

    def hang(self, *, seconds: float, times: int = 1) -> None:
        self.push(Reply(hang_seconds=seconds, content="{}"), times=times)

    def rate_limit(self, *, times: int = 1) -> None:
        body = json.dumps({"error": {"message": "Rate limit reached", "type": "requests"}})
        self.push(Reply(status=429, raw_body=body), times=times)

    def fail(self, status: int, *, times: int = 1) -> None:
        self.push(
            Reply(status=status, raw_body=json.dumps({"error": {"message": "failed"}})), times=times
        )

    def push(self, reply: Reply, *, times: int = 1) -> None:
        with self._lock:
            self._replies.extend([reply] * times)

    def reset(self) -> None:
        """No scripted replies, no requests seen, the default 500: for a shared stand-in."""
        with self._lock:
            self._replies.clear()
            self.requests.clear()
            self.default = Reply(status=500, raw_body='{"error": {"message": "no scripted reply"}}')

    @property
    def pending_replies(self) -> int:
        with self._lock:
            return len(self._replies)

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- serving -----------------------------------------------------------------------------

    def _next_reply(self) -> Reply:
        with self._lock:
            return self._replies.popleft() if self._replies else self.default

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body leave as one segment: otherwise Nagle's algorithm and delayed
            # ACKs cost ~40 ms per request on loopback.
            disable_nagle_algorithm = True
            wbufsize = 64 * 1024

            def log_message(self, *args: Any) -> None:
                """Quiet: test output stays readable."""

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, '{"error": {"message": "not found"}}')
                    return
                fake.requests.append(
                    ReceivedRequest(
                        self.path, json.loads(raw or b"{}"), self.headers.get("Authorization")
                    )
                )
                reply = fake._next_reply()
                if reply.hang_seconds and fake._stopping.wait(reply.hang_seconds):
                    return
                if reply.raw_body is not None:
                    self._send(reply.status, reply.raw_body)
                    return
                completion = {
                    "id": f"chatcmpl-{len(fake.requests)}",
                    "object": "chat.completion",
                    "created": 0,
                    "model": "fake",
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": reply.content},
                        }
                    ],
                }
                self._send(reply.status, json.dumps(completion))

            def _send(self, status: int, body: str) -> None:
                data = body.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its timeout); nothing left to tell it

        return Handler
