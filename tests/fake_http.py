"""What the fake HTTP servers of the tests share: running one on 127.0.0.1, writing answers
(whole or broken off), and picking the queued fault for a request."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TypeVar


@dataclass
class Fault:
    """What a fake does instead of (or on top of) a normal answer; `times` None means for good."""

    endpoint: str
    kind: str  # 'status', 'hang', 'truncate', 'broken_body'
    times: int | None = 1
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    after: int = 0  # only once this many answers of the endpoint have been sent
    when: Callable | None = None  # only for requests it returns True for


F = TypeVar("F", bound=Fault)


def next_fault(faults: list[F], endpoint: str, answered: int, request: object) -> F | None:
    """The first queued fault for this request of `endpoint`, used up by one (call under a lock)."""
    for fault in faults:
        if fault.endpoint != endpoint or fault.times == 0:
            continue
        if answered < fault.after:
            continue
        if fault.when is not None and not fault.when(request):
            continue
        if fault.times is not None:
            fault.times -= 1
        return fault
    return None


class FakeHandler(BaseHTTPRequestHandler):
    """A request handler that stays quiet and writes answers with their length."""

    def log_message(self, *args) -> None:  # keep pytest output quiet
        pass

    def send_answer(
        self, status: int, headers: dict[str, str], body: bytes, *, broken: bool = False
    ) -> None:
        """Send the answer; `broken` declares the whole length, sends half and hangs up."""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if broken:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """A client that hung up (it timed out, as tests make it) is no error of the fake's."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def serve(
    handler: type[BaseHTTPRequestHandler], release: threading.Event, path: str
) -> Iterator[str]:
    """Run `handler` on 127.0.0.1 (a free port) in a thread; yields the URL of `path`.

    At the end `release` is set, so that handlers hanging on it return, and the server stops.
    """
    server = _Server(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{path}"
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
