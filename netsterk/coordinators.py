"""Where a network's coordinators get their mail: the network's `coordinator_email` in the
workflow configuration file (settings.workflow_config, the file the bridge reads; see
workflows/config.py), else the installation's `coordinator_email`. One network's digest or
bounce notice never goes to another network's mailbox."""
from __future__ import annotations

from pathlib import Path

import yaml

from netsterk.logging import get_logger
from netsterk.settings import Settings, get_settings

log = get_logger(__name__)


def _configured(path: Path | None, network: str) -> str | None:
    if path is None:
        return None
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:   # the bridge refuses such a file loudly; here: default
        log.warning("workflow_config_unreadable", error=type(exc).__name__)
        return None
    networks = data.get("networks") if isinstance(data, dict) else None
    entry = networks.get(network) if isinstance(networks, dict) else None
    address = entry.get("coordinator_email") if isinstance(entry, dict) else None
    return address.strip() if isinstance(address, str) and "@" in address else None


def coordinator_address(network: str | None, settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    return (network and _configured(settings.workflow_config, network)) or settings.coordinator_email
