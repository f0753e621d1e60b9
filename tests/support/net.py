"""Loopback ports, for the servers the tests, `make bench` and `make load` start."""
from __future__ import annotations

import socket
import urllib.request


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(url: str, timeout: float) -> bool:
    """Whether a server answers GET `url` with 200 now."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False
