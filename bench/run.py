"""`make bench`: run the benchmarks, print a table, write bench/results/latest.json as a list of
{name, value, unit, baseline} (baseline: what the figure is compared with, measured in the same
run, or the issue's aim; null when the figure stands alone); the run's time and host are printed.

    .venv/bin/python -m bench.run [--e2e-n 1000] [--e2e-clients 1] [--messages-n 2000]
        [--workflows-m 100] [--gateway-n 1000]
        [--scale-events 2000] [--scale-workflows 200] [--only messages,e2e,workflows,gateway,scaleout]
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def table(rows: list[dict]) -> str:
    def baseline(row):
        b = row.get("baseline")
        if not b:
            return ""
        text = f"{b['name']}: {b['value']}"
        return text + (f" (ratio {b['ratio']})" if "ratio" in b else "")
    cells = [(r["name"], str(r["value"]), r["unit"], baseline(r)) for r in rows]
    head = ("benchmark", "value", "unit", "baseline")
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(head)]
    line = lambda values: "  ".join(v.ljust(w) for v, w in zip(values, widths))  # noqa: E731
    return "\n".join([line(head), line(["-" * w for w in widths]), *(line(c) for c in cells)])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--e2e-n", type=int, default=1000)
    parser.add_argument("--e2e-clients", type=int, default=1)
    parser.add_argument("--messages-n", type=int, default=2000)
    parser.add_argument("--workflows-m", type=int, default=100)
    parser.add_argument("--gateway-n", type=int, default=1000)
    parser.add_argument("--scale-events", type=int, default=2000)
    parser.add_argument("--scale-workflows", type=int, default=200)
    parser.add_argument("--only", default="messages,e2e,workflows,gateway,scaleout")
    args = parser.parse_args(argv)
    chosen = args.only.split(",")
    rows: list[dict] = []
    started = time.monotonic()
    if "messages" in chosen:
        from bench import bench_messages
        rows += bench_messages.run(args.messages_n)
    if "e2e" in chosen:
        from bench import bench_e2e
        rows += bench_e2e.run(args.e2e_n, args.e2e_clients)
    if "workflows" in chosen:
        from bench import bench_workflows
        rows += bench_workflows.run(args.workflows_m)
    if "gateway" in chosen:
        from bench import bench_gateway
        rows += bench_gateway.run(args.gateway_n)
    if "scaleout" in chosen:
        from bench import bench_scaleout
        rows += bench_scaleout.run(args.scale_events, args.scale_workflows)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(table(rows))
    print(f"\n{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.node()}, Python "
          f"{sys.version.split()[0]}, {time.monotonic() - started:.0f} s; written: {RESULTS / 'latest.json'}")
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    if "temporalio" in sys.modules:   # STACK.md: the Temporal SDK can crash at interpreter exit
        import os
        os._exit(code)
    sys.exit(code)
