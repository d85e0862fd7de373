"""A request refused with a clear message and an HTTP-like status (403 not allowed, 404 not found,
422 bad input), carried over RPC as {"error": {status, message, field}} next to {"result": ...}."""
from __future__ import annotations


class Refusal(Exception):
    def __init__(self, status: int, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.message, self.field = status, message, field

    def as_dict(self) -> dict:
        return {"status": self.status, "message": self.message, "field": self.field}


def answer(work):
    """{"result": work()} or {"error": ...} when it was refused."""
    try:
        return {"result": work()}
    except Refusal as refusal:
        return {"error": refusal.as_dict()}
