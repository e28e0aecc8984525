"""``mockopenai serve`` as a process: it stops cleanly on SIGTERM, and says so when it cannot
listen instead of printing a traceback."""

from __future__ import annotations

import selectors
import signal
import socket
import subprocess
import sys

from mockserver.web_runner import free_port


def serve(*args: str) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "mockserver.cli", "serve", *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def first_line(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> str:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        assert sel.select(timeout), "mockopenai serve printed nothing"
    return proc.stdout.readline().decode()


def test_sigterm_stops_the_server_cleanly():
    port = free_port()
    proc = serve("--port", str(port))
    assert f"serving on http://127.0.0.1:{port}/v1" in first_line(proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0 and b"Traceback" not in err, err


def test_a_port_in_use_is_an_error_message_not_a_traceback():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = serve("--port", str(port))
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert f"mockopenai: cannot listen on 127.0.0.1:{port}" in err.decode()
    assert b"Traceback" not in err
