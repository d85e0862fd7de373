"""Deadlines per network and per urgency, read by the bridge when it starts a referral.

The defaults follow DESIGN §4; an urgent referral gets shorter ones. A YAML file
(settings.workflow_config, env NETSTERK_WORKFLOW_CONFIG) overrides them per network:

    networks:
      mechelen:
        school_holidays: Flemish        # the community's school holidays are closed days too
        closed_dates: ["2026-12-24"]    # the contact point is closed
        retention_months: 24
        coordinator_email: meldpunt@mechelen.example
        normal: {triage: 2}
        urgent: {triage: 1, partner_response: 2, partner_reminder: 1}

The values are copied into the workflow's input, so a later change of the file never changes
a running referral's history.
"""
from __future__ import annotations

import dataclasses
from dataclasses import fields
from pathlib import Path

import yaml

from netsterk import deadlines as deadline_rules
from netsterk.logging import get_logger
from workflows.referral.shared import WORKING_DAY_STEPS, Deadlines

URGENCIES = deadline_rules.URGENCIES
log = get_logger(__name__)
URGENT_DEFAULTS = {"school_efforts": 2, "school_efforts_reminder": 1, "triage": 1, "matching": 1,
                   "partner_response": 2, "partner_reminder": 1, "first_feedback": 5,
                   "feedback_interval": 10, "draft": 2, "information": 2, "closure": 3}
NETWORK_KEYS = ("school_holidays", "closed_dates", "retention_months", "coordinator_email",
                "normal", "urgent")


class ConfigError(ValueError):
    """A workflow configuration file that cannot be used; the message names the place."""


class WorkflowConfig:
    def __init__(self, networks: dict | None = None):
        self.networks = networks or {}
        for network in self.networks:   # check every network and urgency once, up front
            for urgency in URGENCIES:
                self.deadlines(network, urgency)

    @classmethod
    def load(cls, path: Path | str | None) -> "WorkflowConfig":
        if path is None:
            return cls()
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read workflow config {path}: {exc}") from exc
        networks = data.get("networks", {}) if isinstance(data, dict) else None
        if not isinstance(networks, dict):
            raise ConfigError(f"{path}: `networks` must be a mapping of network code to settings")
        for code, values in networks.items():
            if not isinstance(values, dict):
                raise ConfigError(f"{path}: network {code} must be a mapping")
            unknown = sorted(set(values) - set(NETWORK_KEYS))
            if unknown:
                raise ConfigError(f"{path}: network {code} has unknown keys {', '.join(unknown)}")
        return cls(networks)

    def deadlines(self, network: str, urgency: str, overrides: dict | None = None) -> Deadlines:
        """The network's deadlines for `urgency`; `overrides` are the network admin's own values
        (netsterk.deadlines, carried in referral_submitted), laid over this file's. Overrides that
        do not fit (any more: this file may have changed since) are left out, with a warning: the
        referral starts with the file's values rather than not at all."""
        if overrides:
            try:
                steps = deadline_rules.clean(overrides).get(urgency) or {}
                return dataclasses.replace(self.deadlines(network, urgency), **steps)
            except (deadline_rules.DeadlineError, ValueError, TypeError) as exc:
                log.warning("network deadlines not applied", network=network, urgency=urgency,
                            error=str(exc))
        if urgency not in URGENCIES:
            raise ConfigError(f"unknown urgency {urgency!r}")
        values: dict = dict(URGENT_DEFAULTS) if urgency == "urgent" else {}
        settings = self.networks.get(network) or {}
        steps = settings.get(urgency) or {}
        if not isinstance(steps, dict):
            raise ConfigError(f"network {network}: {urgency} must be a mapping of step to working days")
        unknown = sorted(set(steps) - set(WORKING_DAY_STEPS))
        if unknown:
            raise ConfigError(f"network {network} ({urgency}): unknown steps {', '.join(unknown)}")
        values.update(steps)
        for key in ("school_holidays", "retention_months"):
            if key in settings:
                values[key] = settings[key]
        values["closed_dates"] = [str(d) for d in settings.get("closed_dates") or []]
        known = {f.name for f in fields(Deadlines)}
        try:
            return Deadlines(**{k: v for k, v in values.items() if k in known})
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"network {network} ({urgency}): {exc}") from exc

    def coordinator_email(self, network: str) -> str | None:
        return (self.networks.get(network) or {}).get("coordinator_email")
