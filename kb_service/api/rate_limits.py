"""Rate limits for keys that sit on public web pages (``widget``): per key and client address.

Built on ``limits`` (the library behind slowapi and Flask-Limiter): a moving window kept in
memory, per process. With several replicas each enforces its own share; a shared store
(``limits`` supports Redis and others) is a one-line change here when that matters.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from kb_service.errors import RateLimited


class KeyRateLimiter:
    def __init__(self, rate: str) -> None:
        self.item: RateLimitItem = parse(rate)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, key_id: int, client: str) -> None:
        """Count one request; raise ``RateLimited`` (429, with the wait) over the limit."""
        if self.limiter.hit(self.item, str(key_id), client):
            return
        reset = self.limiter.get_window_stats(self.item, str(key_id), client).reset_time
        wait = max(1, math.ceil(reset - time.time()))
        raise RateLimited(
            f"Too many requests from this widget key and address: {self.item}. "
            f"Try again in {wait} s.",
            retry_after=wait,
        )
