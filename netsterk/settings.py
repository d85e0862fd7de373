"""One place for configuration. Every value can be set by an environment variable NETSTERK_<NAME>."""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
# the workplace's shared reference data (HSDS schemas, mail corpus), read in place, never copied
SHARED_DIR = Path(os.environ.get("NETSTERK_SHARED_DIR") or REPO_ROOT.parent / "shared")

SERVICES = ("intake", "matching", "notifications", "reporting", "portal")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NETSTERK_", extra="ignore")

    env: str = Field("development", description="development | production (JSON logs)")
    log_level: str = "INFO"
    var_dir: Path = REPO_ROOT / "var"

    amqp_uri: str = "pyamqp://guest:guest@127.0.0.1:5672/"
    rpc_timeout: float = 30.0
    # declare our durable queues (nameko RPC / event-handler queues, dead-letter queues, the
    # bridge's queues) as quorum queues: on for a RabbitMQ cluster (deploy/), off locally
    quorum_queues: bool = False
    # a message whose consumer died before the ack (a crash, a kill) is delivered again; after
    # this many deliveries it is parked in `<queue>.dlq` instead of killing the consumer forever
    delivery_limit: int = 5
    # SQLite (the embedded default): NORMAL (no fsync per commit; safe against process crashes,
    # a power cut may lose the last commits) or FULL (an fsync per commit)
    sqlite_synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    # an event handler whose database is unreachable waits up to this long (backing off) before
    # it parks the message in its dead-letter queue
    db_retry_seconds: float = 120.0
    # a nameko service applies its Alembic migrations when it starts; off where a Job migrates
    migrate_on_start: bool = True
    # Prometheus /metrics of this process on this port (0 = off; 9100 in containers)
    metrics_port: int = 0

    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "referrals"
    temporal_ui_url: str = "http://127.0.0.1:8233"
    # encrypt every workflow payload (inputs, signals, updates, results, queries) with the field
    # keys before it reaches the Temporal server's database (workflows/codec.py)
    temporal_encrypt_payloads: bool = True

    # database URL per service: NETSTERK_INTAKE_DATABASE_URL etc.; default a SQLite file in var_dir
    intake_database_url: str | None = None
    matching_database_url: str | None = None
    notifications_database_url: str | None = None
    reporting_database_url: str | None = None
    portal_database_url: str | None = None

    host: str = "127.0.0.1"
    portal_port: int = 8000
    intake_port: int = 8001
    reporting_port: int = 8003
    mailsink_http_port: int = 8025
    public_portal_url: str | None = None
    public_intake_url: str | None = None

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 2525
    mail_from: str = "meldpunt@netsterk.example"
    # the outgoing relay (issue 7): "none" | "starttls" | "ssl"; login when a username is set
    smtp_tls: str = "none"
    smtp_username: str | None = None
    smtp_password: str | None = None
    # signed single-action links in e-mails (netsterk/links.py): key and lifetime
    link_key: str | None = None
    link_days: int = 14
    # networks whose e-mails may be in French (comma-separated codes, "*" = every network); a
    # French request for another network is sent in English
    french_networks: str = "*"
    # where workflow escalations go when a network has no coordinator address of its own
    coordinator_email: str = "coordinator@netsterk.example"
    # the language of e-mails to coordinators (escalations, digests, bounces) unless the network
    # admin chose one for the address (portal: /notifications/languages)
    coordinator_lang: str = "nl"
    # YAML file with each network's deadlines per urgency, calendar and retention
    # (workflows/config.py); none: the defaults of DESIGN §4
    workflow_config: Path | None = None

    # e-mail gateway of intake (services/intake/mail): SMTP receiver for the contact point
    intake_smtp_port: int = 2526
    intake_mail_max_bytes: int = 10 * 1024 * 1024
    intake_mail_attachment_max_bytes: int = 5 * 1024 * 1024
    # accepted recipients: these addresses (comma-separated) and any address at these domains
    intake_mail_addresses: str = "meldpunt@netsterk.example"
    intake_mail_domains: str = ""
    # network of a mailed referral when the recipient's local part is not a network code
    intake_mail_network: str = "mechelen"
    # raw messages are stored here before the gateway answers 250 (default var_dir/mail-in)
    intake_mail_dir: Path | None = None
    # authentication services whose Authentication-Results header is believed (SPF/DKIM/DMARC
    # verdicts of our own MX); empty: the topmost header (mail/authentication.py)
    intake_mail_authserv_ids: str = ""
    # STARTTLS is offered when both are set (PEM files)
    intake_smtp_tls_cert: Path | None = None
    intake_smtp_tls_key: Path | None = None

    # Fernet key(s) for personal data at rest, newest first, comma-separated; when unset the
    # keyring file field_key_file (default var_dir/field.key, one key a line) is used
    field_key: str | None = None
    field_key_file: Path | None = None
    # HMAC key of the audit log's hash chain (netsterk/audit.py); when unset var_dir/audit.key
    audit_key: str | None = None
    # audit entries older than this many months are archived by `netsterk audit archive` (to a
    # file, with the chain's anchor) and removed from the database (docs/privacy.md §3)
    audit_retention_months: int = 60
    # public form and API of intake: requests per client address per minute (0 = no limit)
    intake_rate_limit: int = 30
    # reverse proxies whose X-Forwarded-For is believed (comma-separated addresses)
    trusted_proxies: str = ""
    # HMAC key for the pseudonymous keys and engagement tokens.
    pseudonym_key: str = "netsterk-development-pseudonym-key"
    # HMAC key that signs the portal's session cookies; set a secret value in production.
    session_key: str = "netsterk-development-session-key"
    # a portal session ends after this many minutes without a request (besides its 8 h lifetime)
    portal_idle_minutes: int = 30
    # the Open Referral HSDS 3 JSON schemas the directory import validates against (matching)
    hsds_schema_dir: Path = SHARED_DIR / "hsds" / "schema"

    def database_url(self, service: str) -> str:
        if service not in SERVICES:
            raise ValueError(f"unknown service {service!r}")
        url = getattr(self, f"{service}_database_url")
        if url:
            return url
        return f"sqlite:///{self.var_dir / (service + '.db')}"

    def port(self, service: str) -> int:
        return getattr(self, f"{service}_port")

    @property
    def portal_url(self) -> str:
        return self.public_portal_url or f"http://{self.host}:{self.portal_port}"

    @property
    def intake_url(self) -> str:
        return self.public_intake_url or f"http://{self.host}:{self.intake_port}"

    @property
    def mailsink_url(self) -> str:
        return f"http://{self.host}:{self.mailsink_http_port}"

    def nameko_config(self, service: str) -> dict:
        """The config dict a nameko container of `service` runs with."""
        config = {"AMQP_URI": self.amqp_uri, "serializer": "json",
                  "QUORUM_QUEUES": self.quorum_queues}
        if service in ("portal", "intake", "reporting"):
            config["WEB_SERVER_ADDRESS"] = f"{self.host}:{self.port(service)}"
        return config


@lru_cache
def get_settings() -> Settings:
    return Settings()
