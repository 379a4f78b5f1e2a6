"""Headless Chromium driven over the DevTools protocol (``--remote-debugging-pipe``), for tests
that need a real browser: open a page from disk with the network off (every request goes to a
proxy on a local port nobody listens on), record every request the page made, evaluate
JavaScript in it and take a full-page screenshot. Debian's package is ``chromium``."""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def _closed_port() -> int:
    """A local port with nothing listening: a proxy there refuses every connection."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Rendered:
    requests: list[str]  # every URL the page requested (the page itself included)
    value: object  # what the evaluated expression returned
    screenshot: bytes  # PNG of the whole page
    events: list[dict] = field(default_factory=list)


class Chromium:
    """One headless browser process, spoken to over its DevTools pipe (fds 3 and 4)."""

    def __init__(self, binary: str, *, width: int = 1280, height: int = 1000, timeout: float = 60.0):
        self.timeout = timeout
        self.profile = tempfile.TemporaryDirectory(prefix="corpusforge-chromium-")
        to_read, self._to = os.pipe()
        self._from, from_write = os.pipe()

        def child() -> None:
            os.dup2(to_read, 3)
            os.dup2(from_write, 4)

        flags = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--remote-debugging-pipe",
            f"--proxy-server=http://127.0.0.1:{_closed_port()}",  # the network is off
            "--proxy-bypass-list=<-loopback>",  # ... for localhost too
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-extensions",
            "--disable-sync",
            "--hide-scrollbars",
            f"--window-size={width},{height}",
            f"--user-data-dir={self.profile.name}",
            "about:blank",
        ]
        self.process = subprocess.Popen(
            [binary, *flags], pass_fds=(3, 4), preexec_fn=child, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        os.close(to_read)
        os.close(from_write)
        self._buffer = b""
        self._id = 0
        self.events: list[dict] = []

    def _receive(self) -> dict:
        deadline = time.monotonic() + self.timeout
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._from], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError("chromium did not answer")
            chunk = os.read(self._from, 1 << 20)
            if not chunk:
                raise EOFError("chromium closed its DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._id += 1
        message: dict = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def _wait(self, event: str) -> None:
        seen = len(self.events)
        if any(e.get("method") == event for e in self.events[:seen]):
            return
        while True:
            message = self._receive()
            self.events.append(message)
            if message.get("method") == event:
                return

    def render(self, url: str, expression: str) -> Rendered:
        """Load ``url``, then evaluate ``expression`` (JSON-returning) and take a screenshot."""
        target = next(t["targetId"] for t in self.call("Target.getTargets")["targetInfos"] if t["type"] == "page")
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.call("Network.enable", session=session)
        self.call("Page.enable", session=session)
        self.call("Page.navigate", {"url": url}, session=session)
        self._wait("Page.loadEventFired")
        value = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session)["result"].get("value")
        shot = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=session)
        requests = [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]
        return Rendered(requests, value, base64.b64decode(shot["data"]), list(self.events))

    def close(self) -> None:
        try:
            self.call("Browser.close")
            self.process.wait(timeout=10)
        except (OSError, EOFError, TimeoutError, RuntimeError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        finally:
            os.close(self._to)
            os.close(self._from)
            self.profile.cleanup()

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
