"""Container probe for processes without an HTTP port (Kubernetes exec probes):

    python -m netsterk.probe connected amqp temporal

exits 0 when this process's network namespace (in Kubernetes: the pod) holds an established TCP
connection to the port of each named endpoint (amqp = settings.amqp_uri, temporal =
settings.temporal_address), 1 otherwise. It reads /proc/net/tcp and /proc/net/tcp6 only: no
broker or server round trip, so a slow dependency does not make every pod fail at once."""
from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlsplit

from netsterk.settings import Settings, get_settings

ESTABLISHED = "01"
PROC_NET_TCP = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))
AMQP_DEFAULT_PORTS = {"amqp": 5672, "pyamqp": 5672, "amqps": 5671}


def endpoint_port(name: str, settings: Settings) -> int:
    if name == "amqp":
        parts = urlsplit(settings.amqp_uri)
        return parts.port or AMQP_DEFAULT_PORTS.get(parts.scheme, 5672)
    if name == "temporal":
        return int(settings.temporal_address.rsplit(":", 1)[1])
    raise ValueError(f"unknown endpoint {name!r}: use 'amqp' or 'temporal'")


def established_remote_ports(tables=PROC_NET_TCP) -> set[int]:
    ports: set[int] = set()
    for table in tables:
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            if len(fields) > 3 and fields[3] == ESTABLISHED:
                ports.add(int(fields[2].rsplit(":", 1)[1], 16))
    return ports


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2 or argv[0] != "connected":
        print("usage: python -m netsterk.probe connected {amqp|temporal} ...", file=sys.stderr)
        return 2
    settings = get_settings()
    try:
        wanted = {name: endpoint_port(name, settings) for name in argv[1:]}
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    open_ports = established_remote_ports()
    missing = [f"{name}:{port}" for name, port in wanted.items() if port not in open_ports]
    if missing:
        print("no established connection to " + ", ".join(missing), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
