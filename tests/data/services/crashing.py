"""A nameko service for tests/test_delivery_limit.py: its handler kills its own process on a
message marked `crash` (a consumer dying before the ack), and writes a file for any other."""
import os
from pathlib import Path

from netsterk.nameko_support import event_handler


class CrashingService:
    name = "crashtest"

    @event_handler("crashsource", "poked")
    def on_poked(self, body):
        if body.get("crash"):
            os._exit(3)
        Path(body["write_to"]).write_text(body["mark"])
