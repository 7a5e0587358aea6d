"""Fixtures for the site tests: the sample registry and a headless Chromium.

The browser is driven with the Chrome DevTools protocol over a pipe
(`--remote-debugging-pipe`: JSON messages ending in NUL on file descriptors 3
and 4), so no extra Python package is needed. Without a Chromium binary the
browser tests are skipped, or fail when $SOTB_REQUIRE_CHROMIUM is set (CI).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

FIXTURE = Path(__file__).parent / "fixture"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
)
WAIT = 60.0  # seconds before a protocol reply counts as lost (a hang guard, not a measurement)


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    """A copy of the sample registry (tests may write to it)."""
    target = tmp_path / "registry"
    shutil.copytree(FIXTURE, target, ignore=shutil.ignore_patterns(".sotb_cache"))
    return target


def find_browser() -> str | None:
    explicit = os.environ.get("SOTB_CHROMIUM")
    if explicit:
        return explicit
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


class Browser:
    """A tiny Chrome DevTools protocol client over `--remote-debugging-pipe`."""

    def __init__(self, binary: str, profile: str, size: tuple[int, int] = (1280, 900)):
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        devnull = os.open(os.devnull, os.O_RDWR)
        argv = [binary, *FLAGS, "--remote-debugging-pipe", f"--user-data-dir={profile}",
                f"--window-size={size[0]},{size[1]}", "about:blank"]
        # in the child: fd 3 = commands in, fd 4 = replies out, no terminal output
        actions = [(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 1),
                   (os.POSIX_SPAWN_DUP2, devnull, 2), (os.POSIX_SPAWN_DUP2, to_child_r, 3),
                   (os.POSIX_SPAWN_DUP2, from_child_w, 4)]
        try:
            self.pid = os.posix_spawn(binary, argv, dict(os.environ), file_actions=actions)
        finally:
            for fd in (to_child_r, from_child_w, devnull):
                os.close(fd)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable", session=True)

    # -- protocol -----------------------------------------------------------------
    def _send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode() + b"\0"
        while data:
            data = data[os.write(self._to_child, data):]

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_child], [], [], left)[0]:
                raise TimeoutError("no answer from the browser")
            chunk = os.read(self._from_child, 1 << 16)
            if not chunk:
                raise ConnectionError("the browser closed its pipe")
            self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(raw)

    def call(self, method: str, session: bool = False, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        self._send(message)
        deadline = time.monotonic() + WAIT
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    # -- page helpers -----------------------------------------------------------------
    def open(self, url: str) -> None:
        """Navigate and wait until that very document has loaded (late events of an earlier
        page cannot be mistaken for it)."""
        self.call("Page.navigate", session=True, url=url)
        self.wait_for(f"location.href === {json.dumps(url)} && document.readyState === 'complete'")

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", session=True, expression=expression,
                           returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str) -> None:
        """Poll until `expression` is true (e.g. after a script navigates)."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                if self.evaluate(expression):
                    return
            except RuntimeError:
                pass  # the page is between documents
            time.sleep(0.05)
        raise TimeoutError(f"never true: {expression}")

    def click_and_wait(self, selector: str) -> None:
        """Click the element (HTML or SVG) and wait until the navigation it starts is done."""
        before = self.evaluate("location.href")
        clicked = self.evaluate(
            f"(function(){{var a=document.querySelector({json.dumps(selector)});"
            f"if(!a)return false;a.dispatchEvent(new MouseEvent('click',"
            f"{{bubbles:true,cancelable:true,view:window}}));return true;}})()"
        )
        assert clicked, f"nothing matches {selector}"
        self.wait_for(f"location.href !== {json.dumps(before)} && document.readyState === 'complete'")

    def errors(self, since: int = 0) -> list[str]:
        """Console errors, uncaught exceptions and error log entries seen since event `since`."""
        out = []
        for e in self.events[since:]:
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.exceptionThrown":
                out.append(json.dumps(params.get("exceptionDetails", {}))[:500])
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                out.append(json.dumps(params.get("args", []))[:500])
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                out.append(params["entry"].get("text", "")[:500])
        return out

    def screenshot(self, path: Path) -> None:
        import base64

        data = self.call("Page.captureScreenshot", session=True, format="png")["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        """Ask the browser to quit; kill it if it has not after a while."""
        try:
            self._send({"id": self._next_id + 1, "method": "Browser.close"})
        except OSError:
            pass
        deadline = time.monotonic() + 10
        while os.waitpid(self.pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
                break
            time.sleep(0.05)
        os.close(self._to_child)
        os.close(self._from_child)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    binary = find_browser()
    if binary is None:
        reason = "no Chromium installed (apt-get install chromium); set SOTB_CHROMIUM to a binary"
        if os.environ.get("SOTB_REQUIRE_CHROMIUM"):
            pytest.fail(reason + " but SOTB_REQUIRE_CHROMIUM is set")
        pytest.skip(reason)
    with tempfile.TemporaryDirectory(prefix="sotb-chromium-") as profile:
        b = Browser(binary, profile)
        try:
            yield b
        finally:
            b.close()
