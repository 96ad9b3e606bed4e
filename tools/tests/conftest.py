"""Starts a real `recon serve` (the built binary) on a free loopback port."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

TOKEN = "py-test-token"


def recon_binary() -> str:
    """The binary `swift build` made; tools/test builds it before these tests run."""
    for candidate in (os.environ.get("RECON_BIN"), ROOT / ".build" / "debug" / "recon", ROOT / ".build" / "release" / "recon"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise RuntimeError(f"no recon binary under {ROOT / '.build'}: run `swift build` first (tools/test does)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One `recon serve` process over its own data folder."""

    def __init__(self, folder: Path, port: int = 0, extra=(), config: str | None = None):
        self.folder = folder
        self.data = folder / "data"
        self.extra = list(extra)
        self.config = config
        self.requested_port = port
        self.proc: subprocess.Popen | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Server":
        args = [recon_binary(), "serve", "--data", str(self.data), "--listen", f"127.0.0.1:{self.requested_port}",
                "--print-port", "--log-level", "warning"] + self.extra
        if self.config is not None:
            path = self.folder / "config.json"
            path.write_text(self.config)
            args += ["--config", str(path)]
        env = dict(os.environ, RECON_TOKEN=TOKEN)
        env.pop("RECON_DATA", None)
        self.out = open(self.folder / "serve.out", "w+")
        self.err = open(self.folder / "serve.err", "a")
        self.proc = subprocess.Popen(args, stdout=self.out, stderr=self.err, env=env)
        deadline = time.time() + 60
        while time.time() < deadline:
            self.out.seek(0)
            text = self.out.read().strip()
            if text:
                self.port = int(text.splitlines()[0])
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"recon serve exited: {(self.folder / 'serve.err').read_text()}")
            time.sleep(0.02)
        raise RuntimeError("recon serve did not start in 60 s")

    def stop(self, sig=signal.SIGTERM) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout=30)
        self.proc = None
        return code

    def get(self, path: str, token: str | None = TOKEN):
        req = urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {token}"} if token else {})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.read()

    def events(self) -> list:
        import json
        out = subprocess.run([recon_binary(), "events", "--data", str(self.data)], capture_output=True, text=True, check=True)
        return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


@pytest.fixture
def folder():
    path = Path(tempfile.mkdtemp(prefix="recon-py-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def server(folder):
    s = Server(folder, extra=["--body-limit-bytes", "4096"], config='{"service": {"post_fill_delay_ms": 100}}').start()
    yield s
    s.stop()
