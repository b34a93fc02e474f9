"""The evidence sheet as a PDF, printed by headless Chromium through the DevTools protocol.

Chromium does not draw CSS @page margin boxes, so the running footer (page numbers and the date
the sheet was generated) is Page.printToPDF's footer template. The protocol is spoken over
--remote-debugging-pipe (fd 3 in, fd 4 out, NUL-separated JSON): no port, no extra library.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import html
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pipeline.errors import PipelineError

CHROMIUM_NAMES = ("chromium", "chromium-browser")
# A new, empty profile each time, and nothing the browser would fetch on its own.
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip
PRINT_TIMEOUT_SECONDS = 120.0
NO_CHROMIUM = "cannot write the PDF: chromium is not installed (apt-get install chromium)"


@dataclass(frozen=True)
class Paper:
    """A paper size in inches, as Page.printToPDF takes it."""

    name: str
    width: float
    height: float


PAPERS = {"a4": Paper("A4", 8.27, 11.69), "letter": Paper("Letter", 8.5, 11.0)}
MARGIN_INCHES = 0.6  # room at the bottom for the running footer


def find_chromium() -> str | None:
    """The path of the chromium executable on PATH, None when there is none."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium_command(executable: str, profile: Path, *extra: str) -> list[str]:
    """The command that starts headless chromium with a fresh profile and `extra` flags."""
    return [executable, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra]


def footer_template(generated_at: datetime) -> str:
    """The running footer: 'Page N of M' and the generation date (Chromium fills the spans)."""
    date = html.escape(generated_at.strftime("%d %B %Y, %H:%M UTC"))
    return (
        '<div style="font-family: Georgia, serif; font-size: 9pt; color: #333; width: 100%; '
        "padding: 0 0.75in; box-sizing: border-box; display: flex; "
        'justify-content: space-between;">'
        f"<span>Generated {date}</span>"
        '<span>Page <span class="pageNumber"></span> of <span class="totalPages"></span></span>'
        "</div>"
    )


class _DevTools:
    """A DevTools protocol connection to a chromium started with --remote-debugging-pipe."""

    def __init__(self, process: subprocess.Popen, to_browser: int, from_browser: int):
        self.process, self.to_browser, self.from_browser = process, to_browser, from_browser
        self.next_id, self.buffer, self.events = 0, b"", []

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Send one command and return its result; a protocol error raises PipelineError."""
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise PipelineError(f"chromium refused {method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str) -> dict:
        """The next event named `method` (already received ones first)."""
        while True:
            for index, event in enumerate(self.events):
                if event.get("method") == method:
                    return self.events.pop(index)
            self.events.append(self._receive())

    def _receive(self) -> dict:
        deadline = time.monotonic() + PRINT_TIMEOUT_SECONDS
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.from_browser], [], [], max(left, 0))
            if not ready:
                raise PipelineError(f"chromium did not answer within {PRINT_TIMEOUT_SECONDS:.0f} s")
            chunk = os.read(self.from_browser, 1 << 20)
            if not chunk:
                raise PipelineError(f"chromium stopped (exit {self.process.poll()})")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)


def print_pdf(html_path: Path, pdf_path: Path, paper: str, generated_at: datetime) -> Path:
    """Print the HTML page at html_path to pdf_path on `paper` ('a4' or 'letter').

    Written to a temporary file and renamed, so no half-written PDF is left; a missing chromium
    or a failed print raises PipelineError in one sentence.
    """
    executable = find_chromium()
    if executable is None:
        raise PipelineError(NO_CHROMIUM)
    size = PAPERS[paper]
    with tempfile.TemporaryDirectory(prefix="sheet-pdf-") as profile:
        to_browser_read, to_browser = os.pipe()
        from_browser, from_browser_write = os.pipe()
        # The browser reads commands on fd 3 and writes replies on fd 4. Its ends are first
        # moved to fds 10 and up so that putting them on 3 and 4 cannot overwrite either.
        ends = [
            fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
            for fd in (to_browser_read, from_browser_write)
        ]
        os.close(to_browser_read)
        os.close(from_browser_write)

        def wire_fds() -> None:
            os.dup2(ends[0], 3)
            os.dup2(ends[1], 4)

        process = subprocess.Popen(
            chromium_command(executable, Path(profile), "--remote-debugging-pipe", "about:blank"),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=wire_fds,  # noqa: PLW1509 - only dup2 between fork and exec
            close_fds=False,  # keeps 3 and 4; every other descriptor here is close-on-exec
        )
        for end in ends:
            os.close(end)
        try:
            data = _print(_DevTools(process, to_browser, from_browser), html_path, size,
                          generated_at)  # fmt: skip
        finally:
            os.close(to_browser)
            os.close(from_browser)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    temporary = pdf_path.with_name(f".{pdf_path.name}.tmp")
    try:
        temporary.write_bytes(data)
        temporary.replace(pdf_path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise PipelineError(f"cannot write {pdf_path}: {error.strerror or error}") from None
    return pdf_path


def _print(tools: _DevTools, html_path: Path, size: Paper, generated_at: datetime) -> bytes:
    """Open the page in a new tab, wait for it to load, print it and close the browser."""
    target = tools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = tools.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
        "sessionId"
    ]
    tools.send("Page.enable", session=session)
    tools.send("Page.navigate", {"url": Path(html_path).resolve().as_uri()}, session=session)
    tools.wait_for("Page.loadEventFired")
    result = tools.send(
        "Page.printToPDF",
        {
            "paperWidth": size.width,
            "paperHeight": size.height,
            "marginTop": MARGIN_INCHES,
            "marginBottom": MARGIN_INCHES,
            "marginLeft": MARGIN_INCHES,
            "marginRight": MARGIN_INCHES,
            "printBackground": True,
            "displayHeaderFooter": True,
            "headerTemplate": "<span></span>",
            "footerTemplate": footer_template(generated_at),
        },
        session=session,
    )
    with contextlib.suppress(PipelineError):  # it may close the pipe before it answers
        tools.send("Browser.close")
    return base64.b64decode(result["data"])
