"""Ray addresses as nnsynth reads them: one place for ``cluster.connect``, which joins
a cluster, and ``cluster.join_auth``, which asks a joined one whether it checks tokens."""
from __future__ import annotations

GCS_CHECK_SECONDS = 5.0    # a GCS answers a TCP connect at once; a lost packet gets retries


def host_port(address: str) -> tuple[str, int] | None:
    """(host, port) of a ``HOST:PORT`` address (``[::1]:6379`` too), or None for any other
    form (``auto``, ``ray://...``, a malformed one)."""
    host, sep, port = address.strip().rpartition(":")
    if not sep or "://" in address or not port.isdigit() or not host:
        return None
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host   # [::1]:6379
    return (host, int(port)) if 0 < int(port) < 65536 else None
