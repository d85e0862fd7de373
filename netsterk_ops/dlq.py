"""Dead-letter queues: list them, show what is parked and why, replay it.

Parked messages live in `<queue>.dlq` (exchange `netsterk.dlx`, see netsterk.amqp). Two shapes:

- `{consumer, error, body}`: a consumer (netsterk.nameko_support.consume_once, the workflow
  bridge) parked a message it could not process, with the reason;
- a raw message RabbitMQ dead-lettered itself (reject without requeue, delivery limit): its
  `x-death` header names the queue it came from.

Replay publishes the original body to the queue it came from (default exchange, routing key =
that queue, persistent, publisher confirms) and only then acks it off the dead-letter queue:
a crash in between replays it twice, which the idempotent consumers absorb (message_id).
The original queue of a `{consumer, ...}` message is `<dlq without .dlq>` when that queue
exists (the bridge), else the nameko event queue `evt-<source>-<type>--<consumer>`.

Listing needs the RabbitMQ management API (queues cannot be listed over AMQP):
`NETSTERK_RABBIT_API` (default http://<broker host>:15672), the broker's credentials.
"""
from __future__ import annotations

import json
import socket
import urllib.parse
from dataclasses import dataclass

import kombu
import requests

from netsterk import amqp
from netsterk.amqp import management_api

SUFFIX = ".dlq"


@dataclass
class Parked:
    delivery_tag: int
    consumer: str | None
    error: str | None
    body: object
    death: dict | None          # first x-death entry of a raw dead-lettered message

    @property
    def message_id(self) -> str | None:
        return self.body.get("message_id") if isinstance(self.body, dict) else None

    @property
    def type(self) -> str | None:
        return self.body.get("type") if isinstance(self.body, dict) else None


class DlqError(Exception):
    """A dead-letter operation that cannot be done (unknown queue, no original queue)."""


def queues(amqp_uri: str) -> list[dict]:
    base, auth, vhost = management_api(amqp_uri)
    response = requests.get(f"{base}/api/queues/{urllib.parse.quote(vhost, safe='')}",
                            params={"columns": "name,messages,consumers"}, auth=auth, timeout=10)
    response.raise_for_status()
    return response.json()


def list_dlqs(amqp_uri: str) -> list[dict]:
    """Every dead-letter queue of the vhost: {name, messages}."""
    return sorted(({"name": q["name"], "messages": q.get("messages", 0)}
                   for q in queues(amqp_uri) if q["name"].endswith(SUFFIX)), key=lambda q: q["name"])


def _decode(message) -> Parked:
    try:
        body = json.loads(message.body)
    except ValueError:
        body = message.body.decode("utf-8", errors="replace") if isinstance(message.body, bytes) else message.body
    deaths = (message.headers or {}).get("x-death") or []
    if isinstance(body, dict) and set(body) == {"consumer", "error", "body"}:
        return Parked(message.delivery_tag, body["consumer"], body["error"], body["body"], None)
    return Parked(message.delivery_tag, None, None, body, deaths[0] if deaths else None)


def _fetch(channel, dlq: str, limit: int | None):
    """Up to `limit` messages of `dlq`, unacked on this channel (closing it puts them back)."""
    try:
        channel.queue_declare(queue=dlq, passive=True)
    except Exception as exc:
        raise DlqError(f"no dead-letter queue {dlq!r} in this vhost") from exc
    queue = kombu.Queue(dlq, no_declare=True).bind(channel)
    fetched = []
    while limit is None or len(fetched) < limit:
        message = queue.get(no_ack=False, accept=["json", "text/plain", "application/data"])
        if message is None:
            break
        fetched.append((message, _decode(message)))
    return fetched


def show(amqp_uri: str, dlq: str, limit: int = 20) -> list[Parked]:
    """The first `limit` parked messages; they stay where they are."""
    with amqp.connect(amqp_uri) as connection:
        channel = connection.channel()
        try:
            return [parked for _, parked in _fetch(channel, dlq, limit)]
        finally:
            channel.close()   # unacked: back in the queue, in order


def _queue_exists(channel, name: str) -> bool:
    try:
        channel.queue_declare(queue=name, passive=True)
        return True
    except Exception:
        return False


def original_queue(amqp_uri: str, dlq: str, parked: Parked, connection) -> str:
    if parked.death and parked.death.get("queue"):
        return parked.death["queue"]
    base = dlq[: -len(SUFFIX)]
    probe = connection.channel()   # a failed passive declare closes its channel
    try:
        if _queue_exists(probe, base):
            return base
    finally:
        try:
            probe.close()
        except Exception:
            pass
    consumer = parked.consumer or base
    matches = [q["name"] for q in queues(amqp_uri) if q["name"].endswith(f"--{consumer}")]
    if len(matches) != 1:
        raise DlqError(f"cannot tell which queue {dlq!r} came from (candidates: {matches or 'none'})")
    return matches[0]


def replay(amqp_uri: str, dlq: str, *, message_id: str | None = None,
           limit: int | None = None) -> list[tuple[Parked, str]]:
    """Republish parked messages (all, or the one with `message_id`) to their original queue and
    remove them from `dlq`. Returns (message, queue it went to) for each replayed one."""
    replayed = []
    with amqp.connect(amqp_uri) as connection:
        channel = connection.channel()
        producer = kombu.Producer(connection.channel())
        try:
            for message, parked in _fetch(channel, dlq, limit if message_id is None else None):
                if message_id is not None and parked.message_id != message_id:
                    continue
                target = original_queue(amqp_uri, dlq, parked, connection)
                body = parked.body
                producer.publish(json.dumps(body).encode() if not isinstance(body, str) else body.encode(),
                                 exchange="", routing_key=target, delivery_mode=2,
                                 content_type="application/json", content_encoding="utf-8",
                                 headers={"x-netsterk-replayed-from": dlq})
                message.ack()
                replayed.append((parked, target))
        finally:
            try:
                channel.close()
            except (OSError, socket.error):
                pass
    if message_id is not None and not replayed:
        raise DlqError(f"no message {message_id!r} in {dlq!r}")
    return replayed


def run(args, settings) -> int:
    """`netsterk dlq list|show|replay`."""
    import sys

    uri = settings.amqp_uri
    try:
        if args.action == "list":
            found = list_dlqs(uri)
            if not found:
                print("no dead-letter queues")
            for q in found:
                print(f"{q['messages']:>7}  {q['name']}")
            return 0
        if args.action == "show":
            parked = show(uri, args.queue, args.limit)
            if not parked:
                print(f"{args.queue}: empty")
            for p in parked:
                where = p.consumer or (p.death or {}).get("queue") or "?"
                reason = p.error or (p.death or {}).get("reason") or "?"
                print(f"- message_id={p.message_id} type={p.type} from={where}\n  error: {reason}")
                if args.body:
                    print("  body: " + json.dumps(p.body, ensure_ascii=False, default=str))
            return 0
        done = replay(uri, args.queue, message_id=args.message_id,
                      limit=None if args.all or args.message_id else args.limit)
        for p, target in done:
            print(f"replayed message_id={p.message_id} -> {target}")
        print(f"{len(done)} message(s) replayed from {args.queue}")
        return 0
    except (DlqError, requests.RequestException) as exc:
        print(f"dlq {args.action} failed: {exc}", file=sys.stderr)
        return 1


def add_commands(sub) -> None:
    dlq = sub.add_parser("dlq", help="dead-letter queues: list, show, replay")
    actions = dlq.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="every <queue>.dlq with its message count").set_defaults(func=_cmd)
    show_cmd = actions.add_parser("show", help="the parked messages and why (they stay)")
    show_cmd.add_argument("queue")
    show_cmd.add_argument("--limit", type=int, default=20)
    show_cmd.add_argument("--body", action="store_true", help="print the message bodies too")
    show_cmd.set_defaults(func=_cmd)
    replay_cmd = actions.add_parser("replay", help="republish to the original queue, remove from the dlq")
    replay_cmd.add_argument("queue")
    replay_cmd.add_argument("--message-id", help="only this message")
    replay_cmd.add_argument("--all", action="store_true", help="every message (default: --limit)")
    replay_cmd.add_argument("--limit", type=int, default=1)
    replay_cmd.set_defaults(func=_cmd)


def _cmd(args) -> int:
    from netsterk.settings import get_settings

    return run(args, get_settings())
