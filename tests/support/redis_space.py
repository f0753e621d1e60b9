"""The test Redis database: TEST_REDIS_URL, database 15 on the local server by default."""
from __future__ import annotations

import os

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


class RedisSpace:
    """A key prefix of one test's own in the test Redis database."""

    def __init__(self, client, prefix: str):
        self.client, self.prefix = client, prefix

    def counts(self) -> dict[str, int]:
        """Every key under the prefix (prefix removed) and its count."""
        return {key.decode().removeprefix(self.prefix): int(self.client.get(key))
                for key in self.client.scan_iter(match=f"{self.prefix}*")}
