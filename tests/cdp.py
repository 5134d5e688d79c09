"""A headless Chromium driven over the DevTools protocol: enough to open a page, wait for
text, click a button and take a screenshot, with Debian's chromium and no browser download."""

from __future__ import annotations

import base64
import itertools
import json
import subprocess
import time
from pathlib import Path

import requests
from websockets.sync.client import connect

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1600,1000",
)


class Browser:
    def __init__(self, chromium: str, profile: Path, port: int, extra_flags: tuple = ()):
        self.events: list[dict] = []  # every protocol event received, for tests to inspect
        self.proc = subprocess.Popen(
            [
                chromium,
                *FLAGS,
                *extra_flags,
                f"--user-data-dir={profile}",
                f"--remote-debugging-port={port}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 30
        while True:
            try:
                pages = requests.get(f"http://127.0.0.1:{port}/json/list", timeout=2).json()
                target = next(p for p in pages if p.get("type") == "page")
                break
            except (requests.ConnectionError, StopIteration):
                if time.time() > deadline:
                    self.close()
                    raise
                time.sleep(0.3)
        self.ws = connect(target["webSocketDebuggerUrl"], max_size=64 * 1024 * 1024)
        self._ids = itertools.count(1)

    def send(self, method: str, **params) -> dict:
        call_id = next(self._ids)
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=60))
            if "method" in message:
                self.events.append(message)
            elif message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def open(self, url: str) -> None:
        self.send("Page.navigate", url=url)

    def wait_for_text(self, *texts: str, timeout: float = 60) -> str:
        """The page's text once it holds every one of ``texts``."""
        deadline = time.time() + timeout
        body = ""
        while time.time() < deadline:
            body = self.evaluate("document.body ? document.body.innerText : ''") or ""
            if all(t in body for t in texts):
                return body
            time.sleep(0.5)
        missing = [t for t in texts if t not in body]
        raise AssertionError(f"page never showed {missing}; it shows: {body[:500]!r}")

    def click_button(self, label: str) -> bool:
        return bool(
            self.evaluate(
                "(() => { const b = [...document.querySelectorAll('button')]"
                f".find(b => b.innerText.trim() === {json.dumps(label)});"
                " if (b) { b.click(); return true; } return false; })()"
            )
        )

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        try:
            self.ws.close()
        except AttributeError:
            pass
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
