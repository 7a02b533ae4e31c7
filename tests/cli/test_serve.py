"""End to end in a browser: ``--serve`` on a free local port, opened in headless Chromium.

Chromium is driven over its DevTools protocol with aiohttp (which textual-serve brings along).
xterm.js draws on a canvas, so what the page shows is read from the terminal output the page
receives over its websocket: the scenario title in the status line, then ``op 1/14`` after a key.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("textual_serve", reason="textual-serve is not installed (pip install 'tui-backprop[serve]')")
aiohttp = pytest.importorskip("aiohttp", reason="aiohttp (a textual-serve dependency) is not installed")

CHROMIUM = next(
    (path for path in (shutil.which("chromium"), "/usr/bin/chromium") if path and Path(path).exists()), None
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install -y chromium); .ci/run installs it"
)
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,800",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)
TIMEOUT = 40.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _read_until(process: subprocess.Popen[str], stream: Any, pattern: str, seconds: float) -> re.Match[str]:
    """Read lines of ``stream`` until one matches ``pattern`` (in a thread, so a silent process can't hang us)."""
    lines: list[str] = []

    def read() -> re.Match[str] | None:
        for line in stream:
            lines.append(line)
            match = re.search(pattern, line)
            if match:
                return match
        return None

    from concurrent.futures import ThreadPoolExecutor
    from concurrent.futures import TimeoutError as FutureTimeout

    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(read)
        try:
            match = future.result(timeout=seconds)
        except FutureTimeout:
            process.kill()
            raise AssertionError(f"no line matching {pattern!r} in {seconds} s: {''.join(lines)[-2000:]}") from None
    assert match is not None, f"process ended without {pattern!r}: {''.join(lines)[-2000:]}"
    return match


@contextmanager
def _process(argv: list[str], **kwargs: Any) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(argv, text=True, **kwargs)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class _DevTools:
    """The smallest DevTools client: commands on one page session, events collected as they come."""

    def __init__(self, websocket: Any) -> None:
        self.websocket = websocket
        self.session: str | None = None
        self._next = 0
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.received = bytearray()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.websocket:
            data = json.loads(message.data)
            if "id" in data and data["id"] in self._waiting:
                self._waiting.pop(data["id"]).set_result(data)
            elif data.get("method") == "Network.webSocketFrameReceived":
                frame = data["params"]["response"]
                payload = frame["payloadData"]
                self.received += base64.b64decode(payload) if frame["opcode"] == 2 else payload.encode()

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        self._next += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[self._next] = future
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if self.session is not None and not method.startswith("Target."):
            message["sessionId"] = self.session
        await self.websocket.send_str(json.dumps(message))
        result = await asyncio.wait_for(future, TIMEOUT)
        assert "error" not in result, f"{method}: {result['error']}"
        return dict(result.get("result", {}))

    def text(self) -> str:
        return self.received.decode("utf-8", errors="replace")

    async def wait_for(self, needle: str, start: int = 0) -> None:
        """Wait until the terminal output after byte ``start`` contains ``needle``."""
        for _ in range(int(TIMEOUT * 10)):
            if needle in self.received[start:].decode("utf-8", errors="replace"):
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"{needle!r} never reached the page; last output: {self.text()[-1500:]!r}")

    def close(self) -> None:
        self._reader.cancel()


@asynccontextmanager
async def _browser_page(url: str, profile: str) -> AsyncIterator[_DevTools]:
    assert CHROMIUM is not None
    argv = [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"]
    with _process(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as chromium:
        match = _read_until(chromium, chromium.stderr, r"DevTools listening on (ws://\S+)", TIMEOUT)
        async with aiohttp.ClientSession() as http, http.ws_connect(match[1], max_msg_size=0) as websocket:
            tools = _DevTools(websocket)
            try:
                target = await tools.send("Target.createTarget", url="about:blank")
                attached = await tools.send("Target.attachToTarget", targetId=target["targetId"], flatten=True)
                tools.session = attached["sessionId"]
                await tools.send("Network.enable")
                await tools.send("Page.enable")
                await tools.send("Page.navigate", url=url)
                yield tools
            finally:
                tools.close()


async def _press(tools: _DevTools, key: str) -> None:
    code = f"Key{key.upper()}"
    await tools.send("Runtime.evaluate", expression="document.querySelector('.xterm-helper-textarea').focus()")
    await tools.send(
        "Input.dispatchKeyEvent", type="keyDown", key=key, code=code, text=key, windowsVirtualKeyCode=ord(key.upper())
    )
    await tools.send("Input.dispatchKeyEvent", type="keyUp", key=key, code=code, windowsVirtualKeyCode=ord(key.upper()))


def test_serve_shows_the_scenario_and_a_key_steps_an_op() -> None:
    port = _free_port()
    argv = [sys.executable, "-m", "tui_backprop", "xor", "--serve", "--port", str(port)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with (
        _process(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env) as server,
        # Chromium's helper processes may still be writing its profile while the directory goes.
        tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile,
    ):
        line = _read_until(server, server.stdout, r"serving .* at (http://\S+)", TIMEOUT)
        assert line[1] == f"http://127.0.0.1:{port}", "binds to 127.0.0.1 by default and says so"

        async def browse() -> None:
            async with _browser_page(line[1] + "/", profile) as page:
                await page.wait_for("XOR, 2-2-1 sigmoid")
                await page.wait_for("op 0/14")
                before = len(page.received)
                await _press(page, "s")
                await page.wait_for("op 1/14", start=before)
                intro = await page.send("Runtime.evaluate", expression="document.body.textContent")
                assert "XOR, 2-2-1 sigmoid" in intro["result"]["value"]

        asyncio.run(browse())
