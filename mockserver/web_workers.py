"""``mockopenai serve --workers N``: N processes accepting on one port, sharing their state.

The parent creates the shared database (:mod:`mockserver.shared_state`) in a private temporary
folder, starts N workers (``mockopenai serve`` with the same options, each listening with
SO_REUSEPORT, so the kernel spreads new connections across them), says where it serves once
every worker is ready, and waits. SIGINT or SIGTERM (Ctrl-C) stops every worker with SIGTERM,
waits for them and removes the folder; a worker that dies stops the rest (exit status 1).

Workers run in their own session, so a Ctrl-C in the terminal reaches the parent alone and the
shutdown happens once, in order. Each worker's stdin is a pipe from the parent: when the parent
goes, even killed, every worker sees the end of that pipe and stops.
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import IO

from . import shared_state
from .config import MockConfig
from .shared_state import WORKERS_FOLDER_PREFIX

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 5.0


def serve_workers(config: MockConfig, workers: int, argv: list[str]) -> int:
    stopping = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    folder = tempfile.mkdtemp(prefix=WORKERS_FOLDER_PREFIX)
    path = os.path.join(folder, "state.sqlite3")
    held = None  # with --port 0: the chosen port, held (bound, not listening) while workers bind it
    procs: list[subprocess.Popen[bytes]] = []
    code = 0
    try:
        shared_state.create(path)
        port = config.port
        if port == 0:
            held, port = hold_free_port(config.host)
        for i in range(1, workers + 1):
            cmd = [sys.executable, "-m", "mockserver.cli", "serve", *argv, "--port", str(port)]
            cmd += ["--shared-state", path, "--worker-id", str(i)]
            procs.append(
                subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True)
            )
        failed = wait_ready(procs, stopping)
        if stopping.is_set():  # Ctrl-C while starting: stop, quietly
            return 0
        if failed:
            print(f"mockopenai: {failed}", file=sys.stderr)
            return 1
        if held is not None:
            held.close()
            held = None
        for proc in procs:
            assert proc.stdout is not None
            threading.Thread(target=forward, args=(proc.stdout,), daemon=True).start()
        print(
            f"mockopenai serving on http://{config.host}:{port}/v1 with {workers} workers "
            "(admin: /_mock/health)",
            flush=True,
        )
        while not stopping.is_set():
            gone = [p for p in procs if p.poll() is not None]
            if gone:
                print(
                    f"mockopenai: worker pid {gone[0].pid} exited ({gone[0].returncode}); stopping",
                    file=sys.stderr,
                )
                code = 1
                break
            stopping.wait(0.2)
    finally:
        stop_all(procs)
        if held is not None:
            held.close()
        shutil.rmtree(folder, ignore_errors=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code


def hold_free_port(host: str) -> tuple[socket.socket, int]:
    """Bind a free port with SO_REUSEPORT (not listening: it takes no connections)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, 0))
    return sock, sock.getsockname()[1]


def wait_ready(procs: list[subprocess.Popen[bytes]], stopping: threading.Event) -> str | None:
    """Each worker's first line says it listens; what went wrong, or None."""
    waiting = {p.stdout: p for p in procs if p.stdout is not None}
    deadline = time.monotonic() + READY_TIMEOUT_S
    with selectors.DefaultSelector() as sel:
        for out in waiting:
            sel.register(out, selectors.EVENT_READ)
        while waiting:
            if stopping.is_set():
                return "stopped before the workers were ready"
            left = deadline - time.monotonic()
            if left <= 0:
                return f"{len(waiting)} worker(s) not ready after {READY_TIMEOUT_S:.0f} s"
            for key, _ in sel.select(min(left, 0.2)):
                proc = waiting.pop(key.fileobj)  # type: ignore[arg-type]
                sel.unregister(key.fileobj)
                line = proc.stdout.readline() if proc.stdout else b""
                if b"ready" not in line:
                    proc.wait()
                    return f"a worker failed to start (exit status {proc.returncode})"
    return None


def forward(out: IO[bytes]) -> None:
    """Pass a worker's later output through (so its pipe never fills)."""
    for line in out:
        sys.stdout.buffer.write(line)
        sys.stdout.flush()


def stop_all(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for proc in procs:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdin is not None:
            proc.stdin.close()
