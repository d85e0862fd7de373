"""`netsterk directory import|export` over matching's RPC: HSDS 3.0 JSON or spreadsheet CSV."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from netsterk import amqp


def _format(args, path: str | None) -> str:
    if args.format:
        return args.format
    return "csv" if path and path.lower().endswith(".csv") else "hsds"


def problems_of(error: amqp.RemoteError) -> list[str]:
    text = error.value or ""
    if ": " in text and text.startswith("directory not imported"):
        text = text.split(": ", 1)[1]
    return [p for p in text.split("; ") if p]


def run(args, settings, *, out=None) -> int:
    out = out or sys.stdout

    def call(method, *a):
        return amqp.rpc_call(settings.amqp_uri, "matching", method, *a, timeout=max(settings.rpc_timeout, 120))

    try:
        if args.action == "import":
            path = Path(args.file)
            if not path.is_file():
                print(f"no such file: {path}", file=sys.stderr)
                return 2
            kind = _format(args, args.file)
            raw = path.read_bytes()
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                print(f"{path}: not UTF-8 text", file=sys.stderr)
                return 1
            if kind == "csv":
                result = call("import_csv", args.network, text)
            else:
                try:
                    document = json.loads(text)
                except ValueError as exc:
                    print(f"{path}: not valid JSON: {exc}", file=sys.stderr)
                    return 1
                result = call("import_hsds", args.network, document)
            print(f"imported into {args.network}: {result['organisations']} organisations, "
                  f"{result['offers']} offers", file=out)
            return 0
        kind = _format(args, args.output)
        if kind == "csv":
            text = call("export_csv", args.network)
        else:
            text = json.dumps(call("export_hsds", args.network, not args.public), ensure_ascii=False, indent=2) + "\n"
        if args.output:
            Path(args.output).write_text(text, encoding="utf-8")
            print(f"written {args.output}", file=out)
        else:
            out.write(text)
        return 0
    except amqp.RemoteError as error:
        if error.exc_type == "InvalidDirectory":
            problems = problems_of(error)
            print(f"not imported, nothing changed: {len(problems)} problem(s)", file=sys.stderr)
            for problem in problems:
                print(f"  {problem}", file=sys.stderr)
            return 1
        print(f"matching refused: {error.exc_type}: {error.value}", file=sys.stderr)
        return 1
    except (amqp.RpcTimeout, amqp.UnknownService, OSError) as error:
        print(f"directory {args.action} failed: {type(error).__name__}: {error}\n"
              "Is matching running? (`netsterk status`)", file=sys.stderr)
        return 1
