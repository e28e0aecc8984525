"""Waiting for a server a test started as a subprocess to answer its health URL."""

from __future__ import annotations

import subprocess
import time
import urllib.request


def wait_until_up(url: str, proc: subprocess.Popen, timeout_s: float = 20.0) -> None:
    """Return once ``url`` answers; fail with the process's output if it exits first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[0]
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"{url} did not come up within {timeout_s:g} s")
