"""Health checks of every part: broker, Temporal, each service, the bridge, the worker, SMTP.
Used by `netsterk status` and by the stack's readiness wait. Never imports nameko."""
from __future__ import annotations

import asyncio
import smtplib
from dataclasses import dataclass

from netsterk import amqp, contracts
from netsterk.settings import SERVICES, Settings


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def check_broker(settings: Settings) -> Check:
    try:
        with amqp.connect(settings.amqp_uri) as connection:
            connection.ensure_connection(max_retries=1)
            version = connection.connection.server_properties.get("version", b"")
        return Check("rabbitmq", True, f"RabbitMQ {version.decode() if isinstance(version, bytes) else version}")
    except Exception as exc:
        return Check("rabbitmq", False, str(exc) or type(exc).__name__)


async def _temporal(settings: Settings) -> tuple[Check, Check]:
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
    from temporalio.client import Client

    try:
        client = await asyncio.wait_for(
            Client.connect(settings.temporal_address, namespace=settings.temporal_namespace), 5)
        await client.service_client.check_health()
    except Exception as exc:
        down = Check("temporal", False, str(exc) or type(exc).__name__)
        return down, Check("workflow_worker", False, "Temporal is down")
    temporal = Check("temporal", True, settings.temporal_address)
    try:
        described = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
            namespace=settings.temporal_namespace,
            task_queue=TaskQueue(name=settings.temporal_task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW))
        pollers = len(described.pollers)
        worker = Check("workflow_worker", pollers > 0,
                       f"{pollers} poller(s) on task queue {settings.temporal_task_queue!r}")
    except Exception as exc:
        worker = Check("workflow_worker", False, str(exc))
    return temporal, worker


def check_rpc(settings: Settings, service: str, timeout: float = 5.0) -> Check:
    try:
        answer = amqp.rpc_call(settings.amqp_uri, service, "health", timeout=timeout)
        ok = isinstance(answer, dict) and answer.get("status") == "ok"
        return Check(service, ok, "ok" if ok else f"unexpected answer {answer!r}")
    except Exception as exc:
        return Check(service, False, f"{type(exc).__name__}: {exc}")


def check_smtp(settings: Settings, *, name: str = "smtp", host: str | None = None,
               port: int | None = None) -> Check:
    """An SMTP server answers NOOP: the outgoing relay, or intake's own mail gateway."""
    host, port = host or (settings.smtp_host if name == "smtp" else settings.host), port or settings.smtp_port
    try:
        with smtplib.SMTP(host, port, timeout=5) as smtp:
            code, _ = smtp.noop()
        return Check(name, code == 250, f"{host}:{port}")
    except Exception as exc:
        return Check(name, False, f"{host}:{port}: {exc}")


def run_checks(settings: Settings) -> list[Check]:
    checks = [check_broker(settings)]
    checks.extend(asyncio.run(_temporal(settings)))
    if checks[0].ok:
        checks.extend(check_rpc(settings, name) for name in (*SERVICES, contracts.BRIDGE))
    else:
        checks.extend(Check(name, False, "broker is down") for name in (*SERVICES, contracts.BRIDGE))
    checks.append(check_smtp(settings))
    checks.append(check_smtp(settings, name="mail_gateway", port=settings.intake_smtp_port))
    return checks
