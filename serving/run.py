"""`framing serve`: check the model, print a ready-to-paste curl example, then run `bentoml serve`.

Settings travel to the BentoML processes as FRAMING_* environment variables (serving/config.py),
because `bentoml serve` imports serving/service.py afresh in each worker.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from serving.config import ModelNotFoundError, Settings, locate_model

SERVICE = "serving.service:FramingService"
REPO_ROOT = Path(__file__).resolve().parent.parent


def curl_example(host: str, port: int) -> str:
    """A command a user can paste to try the running service."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return (f"curl -s -X POST http://{shown}:{port}/classify -H 'Content-Type: application/json' \\\n"
            "  -d '{\"texts\": [\"Analysts say the troop deployment makes a wider war on the peninsula unlikely.\"]}'")


def bentoml_command(host: str, port: int) -> list[str]:
    return [sys.executable, "-m", "bentoml", "serve", SERVICE, "--host", host, "--port", str(port),
            "--working-dir", str(REPO_ROOT)]


def serve(*, model: str | None = None, host: str = "127.0.0.1", port: int = 3000, settings: Settings | None = None) -> int:
    """Run the service in the foreground until interrupted; returns the exit code."""
    settings = settings or Settings.from_env()
    if model:
        settings = settings.replace(model=model)
    if not 0 < port < 65536:
        raise ValueError(f"--port must be from 1 to 65535, got {port}")
    try:
        path = locate_model(settings.model)
    except ModelNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"serving model from {path} on http://{host}:{port} (docs: /docs, readiness: /readyz)")
    print("try it once /readyz answers 200:\n" + curl_example(host, port), flush=True)
    env = {**os.environ, **settings.to_env()}
    try:
        return subprocess.call(bentoml_command(host, port), env=env)
    except KeyboardInterrupt:
        return 130


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BackgroundServer:
    """`framing serve` in a child process group, for tests and benchmarks; stop() ends it and its workers."""

    def __init__(self, *, args: list[str] = (), env: dict[str, str] | None = None, log: Path, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(log)
        self.proc = subprocess.Popen([sys.executable, "-m", "framing", "serve", "--port", str(self.port), *args],
                                     env={**os.environ, **(env or {})}, stdout=self.log.open("w"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.log_when_ready = ""

    def wait_ready(self, timeout: float = 180) -> "BackgroundServer":
        """Poll /readyz until 200; raise RuntimeError with the server log if it exits or times out."""
        import time

        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with code {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    self.log_when_ready = self.log.read_text()
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"server not ready after {timeout:g} s:\n{self.log.read_text()}")

    def stop(self) -> None:
        import signal

        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
