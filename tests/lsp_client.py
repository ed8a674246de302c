"""A minimal Language Server Protocol client for tests and benchmarks: starts
`freezelint server` as a process, speaks JSON-RPC over its stdio (Content-Length frames),
answers the server's own requests, and waits for responses and notifications."""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class LspError(RuntimeError):
    pass


class Client:
    def __init__(
        self,
        cwd: Path,
        env: dict[str, str] | None = None,
        capabilities: dict | None = None,
        settings: Any = None,
        command: list[str] | None = None,
    ) -> None:
        # `command` starts another server command line (an editor snippet's); by default the
        # freezelint of this interpreter.
        self.process = subprocess.Popen(
            command or [sys.executable, "-m", "freezelint", "server"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env={**os.environ, **(env or {})},
        )
        self.capabilities = capabilities or {}
        self.settings = settings  # the answer to workspace/configuration
        self.requests_seen: list[dict] = []  # requests the server sent us
        self._next = 0
        self._responses: dict[int, dict] = {}
        self._notifications: queue.Queue[dict] = queue.Queue()
        self.notifications: list[dict] = []  # every one received, in order
        self._lock = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    # --- the wire ------------------------------------------------------------------------

    def _send(self, message: dict) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        assert self.process.stdin is not None
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            if length is None:
                continue
            message = json.loads(stream.read(length))
            if "method" in message and "id" in message:  # the server asks something
                self.requests_seen.append(message)
                self._send({"id": message["id"], "result": self._answer(message)})
            elif "method" in message:
                self._notifications.put(message)
            else:
                with self._lock:
                    self._responses[message["id"]] = message
                    self._lock.notify_all()

    def _answer(self, message: dict) -> Any:
        if message["method"] == "workspace/configuration":
            return [self.settings] * len(message["params"]["items"])
        return None

    # --- what tests call -----------------------------------------------------------------

    def request(self, method: str, params: Any, timeout: float = 60.0) -> Any:
        self._next += 1
        ident = self._next
        self._send({"id": ident, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        with self._lock:
            while ident not in self._responses:
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    raise LspError(f"no answer to {method}: {self.stderr()}")
                self._lock.wait(min(left, 0.5))
            answer = self._responses.pop(ident)
        if "error" in answer:
            raise LspError(f"{method}: {answer['error']}")
        return answer.get("result")

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    def wait_for(
        self, method: str, where: Callable[[dict], bool] = lambda p: True, timeout: float = 60.0
    ) -> dict:
        """The params of the next notification `method` (after those already taken) that
        satisfies `where`."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise LspError(f"no {method} within {timeout} s: {self.stderr()}")
            try:
                message = self._notifications.get(timeout=min(left, 0.5))
            except queue.Empty:
                if self.process.poll() is not None:
                    raise LspError(f"server exited: {self.stderr()}") from None
                continue
            self.notifications.append(message)
            if message["method"] == method and where(message["params"]):
                return message["params"]

    def diagnostics(self, uri: str, timeout: float = 60.0, version: int | None = None) -> list:
        """The next diagnostics published for `uri` (for `version`, if given)."""
        params = self.wait_for(
            "textDocument/publishDiagnostics",
            lambda p: p["uri"] == uri and (version is None or p.get("version") == version),
            timeout,
        )
        return params["diagnostics"]

    def initialize(self, root: Path, options: dict | None = None) -> dict:
        result = self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": root.as_uri(),
                "capabilities": self.capabilities,
                "initializationOptions": options,
            },
        )
        self.notify("initialized", {})
        self.initialized = result
        return result

    def open(self, path: Path, text: str | None = None, version: int = 1) -> str:
        uri = path.as_uri()
        text = path.read_text(encoding="utf-8") if text is None else text
        item = {"uri": uri, "languageId": "python", "version": version, "text": text}
        self.notify("textDocument/didOpen", {"textDocument": item})
        return uri

    def change(self, uri: str, version: int, changes: list[dict]) -> None:
        self.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": version}, "contentChanges": changes},
        )

    def stop(self) -> int:
        """shutdown, exit; the server's exit code."""
        if self.process.poll() is None:
            self.request("shutdown", None)
            self.notify("exit", None)
        try:
            return self.process.wait(timeout=30)
        finally:
            self._stderr = self.stderr()
            for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
                if stream is not None:
                    stream.close()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stderr(self) -> str:
        """What the server wrote to standard error (once it has exited)."""
        if self.process.poll() is None:
            return "(server still running)"
        if getattr(self, "_stderr", None) is None:
            assert self.process.stderr is not None
            self._stderr = self.process.stderr.read().decode("utf-8", "replace")[-3000:]
        return self._stderr


@contextmanager
def serving(
    cwd: Path, root: Path | None = None, options: dict | None = None, **client: Any
) -> Iterator[Client]:
    """A server started in `cwd` and initialized on `root` (default `cwd`) with `options`;
    on leaving, it must shut down and exit with 0, and it is killed if it did not."""
    started = Client(cwd, **client)
    try:
        started.initialize(root or cwd, options)
        yield started
        assert started.stop() == 0, started.stderr()
    finally:
        started.kill()


def apply_edits(text: str, edits: list[dict]) -> str:
    """LSP text edits (UTF-16 positions) applied to `text` (lines end at line endings only,
    not at every separator `str.splitlines` knows)."""
    lines = re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(position: dict) -> int:
        row = position["line"]
        if row >= len(lines):
            return len(text)
        line, units, index = lines[row], 0, 0
        while index < len(line) and units < position["character"]:
            units += 2 if ord(line[index]) > 0xFFFF else 1
            index += 1
        return starts[row] + index

    spans = sorted(
        ((offset(e["range"]["start"]), offset(e["range"]["end"]), e["newText"]) for e in edits),
        reverse=True,
    )
    for start, end, content in spans:
        text = text[:start] + content + text[end:]
    return text
