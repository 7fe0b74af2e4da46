"""Probes of the concurrency soak: which `coop serve` worker
answered a request (by the socket that holds the connection), and what in a log is a fault."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import time
from pathlib import Path
from typing import Any

# What must never appear in any process's output during the soak.
FAULTS = re.compile(
    r"database is locked|database table is locked|OperationalError|Traceback|\bERROR\b"
    r"|\bCRITICAL\b|Internal Server Error"
)


def fault_lines(text: str) -> list[str]:
    """The lines of a log that report a fault (lock errors, tracebacks, errors)."""
    return [line for line in text.splitlines() if FAULTS.search(line)]


def access_lines(text: str) -> list[dict[str, Any]]:
    """The access lines of a `coop serve` log written with `COOP_API__LOG_FORMAT=json`."""
    found = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and "status" in entry and "path" in entry:
                found.append(entry)
    return found


def children(pid: int) -> list[int]:
    """The direct children of a process."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.extend(int(child) for child in (task / "children").read_text().split())
    return found


def workers_of(supervisor: int) -> list[int]:
    """The worker processes of `coop serve --workers N` (its children other than
    multiprocessing's resource tracker)."""
    found = []
    for pid in children(supervisor):
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        if b"resource_tracker" not in command:
            found.append(pid)
    return found


def _loopback(port: int) -> str:
    return f"0100007F:{port:04X}"  # 127.0.0.1 as /proc/net/tcp writes it


def server_side_inode(server_port: int, client_port: int) -> str | None:
    """The inode of the server's end of the loopback connection from `client_port`."""
    local, remote = _loopback(server_port), _loopback(client_port)
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == local and fields[2] == remote:
            return fields[9]
    return None


def process_holding(inode: str, pids: list[int]) -> int | None:
    """Which of `pids` has the socket `inode` open."""
    target = f"socket:[{inode}]"
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    if os.readlink(fd) == target:
                        return pid
                except OSError:
                    continue
        except OSError:
            continue
    return None


class Reply:
    """One HTTP exchange: status, body, which worker answered, and how long it took."""

    def __init__(self, status: int, body: bytes, worker: int | None, seconds: float) -> None:
        self.status = status
        self.body = body
        self.worker = worker
        self.seconds = seconds

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def request(
    port: int,
    method: str,
    path: str,
    *,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    workers: list[int] | None = None,
    timeout: float = 120.0,
) -> Reply:
    """One request on a new connection; with `workers`, also which of them answered it (the
    process holding the server end of the still-open keep-alive connection)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    started = time.monotonic()
    try:
        data = json.dumps(body).encode("utf-8") if body is not None else None
        sent = {"Content-Type": "application/json"} if data is not None else {}
        connection.request(method, path, body=data, headers={**sent, **(headers or {})})
        response = connection.getresponse()
        payload = response.read()
        seconds = time.monotonic() - started
        worker = None
        if workers and connection.sock is not None:
            client_port = connection.sock.getsockname()[1]
            inode = server_side_inode(port, client_port)
            worker = process_holding(inode, workers) if inode else None
        return Reply(response.status, payload, worker, seconds)
    finally:
        connection.close()


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0
