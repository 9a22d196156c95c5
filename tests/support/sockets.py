"""What the kernel says of a server's TCP port (Linux's /proc/net/tcp and tcp6): a condition to wait on
for a server in another process, where the test cannot look inside it."""

from __future__ import annotations

from pathlib import Path

LISTEN, ESTABLISHED = "0A", "01"


def _rows(port: int) -> list[tuple[str, int]]:
    """(state, receive queue) of each socket whose local port is ``port``."""
    rows = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                rows.append((fields[3], int(fields[4].split(":")[1], 16)))
    return rows


def accepted_and_read(port: int, count: int) -> bool:
    """Whether the server on ``port`` has accepted every connection (its listen queue is empty) and
    holds at least ``count``, each with what was sent on it read (its receive queue is empty)."""
    rows = _rows(port)
    backlog = [queued for state, queued in rows if state == LISTEN]
    held = [queued for state, queued in rows if state == ESTABLISHED]
    return backlog == [0] and len(held) >= count and not any(held)
