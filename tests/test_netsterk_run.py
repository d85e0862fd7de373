"""`make run` is `netsterk run`: start everything, seed the demo network, print where to look,
and on Ctrl-C (SIGINT) stop what it started and nothing else. Driven as a user would."""
import os
import signal
import subprocess
import sys
import socket
import time

import pytest
import requests

from netsterk.testing import free_port, rabbit_vhost, wait_until

pytestmark = pytest.mark.slow


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_netsterk_run_starts_seeds_prints_urls_and_stops_on_ctrl_c(tmp_path):
    with rabbit_vhost("netsterk_run") as amqp_uri:
        ports = {name: free_port() for name in ("PORTAL", "INTAKE", "REPORTING", "MAILSINK_HTTP", "SMTP",
                                                 "INTAKE_SMTP")}
        temporal, ui = free_port(), free_port()
        env = {**os.environ, "NETSTERK_VAR_DIR": str(tmp_path), "NETSTERK_AMQP_URI": amqp_uri,
               "NETSTERK_TEMPORAL_ADDRESS": f"127.0.0.1:{temporal}",
               "NETSTERK_TEMPORAL_UI_URL": f"http://127.0.0.1:{ui}",
               "NETSTERK_TEMPORAL_TASK_QUEUE": "referrals-run-test",
               **{f"NETSTERK_{name}_PORT": str(port) for name, port in ports.items()}}
        output = open(tmp_path / "run.out", "w+")
        process = subprocess.Popen([sys.executable, "-m", "netsterk_ops.cli", "run"], env=env,
                                   stdout=output, stderr=subprocess.STDOUT, text=True)
        try:
            wait_until(lambda: "Netsterk is running" in (tmp_path / "run.out").read_text(), timeout=180,
                       interval=1, what="the URLs")
            printed = (tmp_path / "run.out").read_text()
            assert "Demo network 'mechelen' seeded" in printed
            for url in (f"http://127.0.0.1:{ports['INTAKE']}/referrals/new",
                        f"http://127.0.0.1:{ports['PORTAL']}/", f"http://127.0.0.1:{ports['MAILSINK_HTTP']}/",
                        f"http://127.0.0.1:{ui}/namespaces/default/workflows"):
                assert url in printed
            form = requests.get(f"http://127.0.0.1:{ports['INTAKE']}/referrals/new", timeout=10)
            assert form.status_code == 200 and "Mechelen" in form.text
            assert requests.get(f"http://127.0.0.1:{ui}/", timeout=10).status_code == 200   # Temporal UI
            ours = [*ports.values(), temporal]
            assert all(answers(port) for port in ours)
            process.send_signal(signal.SIGINT)                      # Ctrl-C
            assert process.wait(timeout=60) == 0
            time.sleep(1)
            assert [port for port in ours if answers(port)] == []   # everything it started is gone
            assert answers(5672)                                    # the broker it found stays up
        finally:
            if process.poll() is None:
                process.kill()
            output.close()
