"""`framing serve`: check the model, print a ready-to-paste curl example, then run `bentoml serve`.

Settings travel to the BentoML processes as FRAMING_* environment variables (serving/config.py),
because `bentoml serve` imports serving/service.py afresh in each worker.

`bentoml serve` runs in a process group of its own, so a Ctrl+C in the terminal reaches only this
process, and SIGTERM/SIGINT (what systemd or a container runtime sends) are forwarded to it: its
arbiter stops the worker, which drains (serving/traffic.py) and exits. If the server is not gone
FRAMING_GRACE_PERIOD plus a margin after the signal, it and every process it started (BentoML's worker
runs in a process group of its own) are killed, so nothing is left behind holding the port.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from serving.config import ModelNotFoundError, Settings, locate_model

SERVICE = "serving.service:FramingService"
REPO_ROOT = Path(__file__).resolve().parent.parent
FORWARDED = (signal.SIGTERM, signal.SIGINT)
# Beyond the grace period: the arbiter's own stop and the worker's exit (seconds).
STOP_MARGIN = 15.0


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
    return run_server(bentoml_command(host, port), env=env, grace_period=settings.grace_period)


def run_server(command: list[str], *, env: dict[str, str], grace_period: float) -> int:
    """Run `command` in its own process group, forwarding SIGTERM/SIGINT; 0 when it stops cleanly on one."""
    proc = subprocess.Popen(command, env=env, start_new_session=True)
    received: list[int] = []

    def forward(signum, frame) -> None:
        received.append(signum)
        try:
            proc.send_signal(signum)
        except ProcessLookupError:
            pass

    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED}
    tree: list = []
    try:
        code = _wait(proc, received, grace_period + STOP_MARGIN, tree)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _kill(tree)
    if received and code in (0, -received[0]):
        return 0  # stopped as asked
    return code


def _wait(proc: subprocess.Popen, received: list[int], allowed: float, tree: list) -> int:
    """The server's exit code; after a forwarded signal, at most `allowed` seconds before it is killed.

    Keeps `tree` up to date with the server's processes: BentoML's worker runs in a process group of its
    own, and would outlive an arbiter that died without stopping it.
    """
    stop_by = None
    while True:
        tree[:] = {p.pid: p for p in [*tree, *_processes(proc.pid)]}.values()
        try:
            return proc.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            pass
        if received and stop_by is None:
            stop_by = time.monotonic() + allowed
        if stop_by is not None and time.monotonic() > stop_by:
            print(f"error: the server did not stop within {allowed:.0f} s of {signal.Signals(received[0]).name}; killing it",
                  file=sys.stderr, flush=True)
            _kill(tree)
            return proc.wait()


def _processes(pid: int) -> list:
    """The process `pid` and all its descendants (psutil.Process objects), or [] if it is gone."""
    import psutil

    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _kill(processes: list) -> None:
    """Kill those of `processes` still running (none, after a clean stop)."""
    import psutil

    for p in processes:
        try:
            p.kill()  # psutil checks it is still the same process, not a reused pid
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(processes, timeout=5)


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

    def processes(self) -> list:
        """`framing serve` and every process under it (psutil.Process objects)."""
        return _processes(self.proc.pid)

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM to `framing serve` (it stops its server); kill everything under it if that takes over `timeout` s."""
        import psutil

        processes = self.processes()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = None
        _kill(psutil.wait_procs(processes, timeout=0 if code is None else 10)[1])
        if code is None:
            code = self.proc.wait()
        return code
