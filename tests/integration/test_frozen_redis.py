"""A Redis that stops answering (frozen, not dead): the breaker must open whatever else the requests do."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.services import RedisServer, start_redis
from litellm_semcache.formats import get_format
from litellm_semcache.pipeline import Pipeline, Prepared
from litellm_semcache.settings import load_settings
from litellm_semcache.types import Identity
from tests.builders import completion


@pytest.fixture
def frozen_able_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = start_redis(tmp_path / "redis")
    yield server
    server.process.send_signal(signal.SIGCONT)
    server.stop()


async def test_refused_stores_do_not_keep_the_breaker_closed_while_redis_is_frozen(
    frozen_able_redis: RedisServer,
) -> None:
    settings = load_settings(index_name="frozen", redis_timeout_seconds=0.3)
    pipeline = Pipeline(settings, redis_url=frozen_able_redis.url)
    chat = get_format("chat")
    answer = chat.read_answer(json.loads(str(completion("It depends.")["response"])), settings)

    async def ask(text: str) -> str:
        body = {"model": "gpt-a", "messages": [{"role": "user", "content": text}]}
        prepared = pipeline.prepare(chat, body, identity=Identity(model_group="gpt-a"))
        assert isinstance(prepared, Prepared)
        found = await pipeline.lookup(prepared)
        await pipeline.store(prepared, answer)  # kept out by the classifier: never reaches Redis
        return found.status

    assert await ask("What is my account balance?") == "filtered"  # a store that is always refused
    frozen_able_redis.process.send_signal(signal.SIGSTOP)
    results = [await ask(f"What is my balance on account number {i}?") for i in range(10)]
    assert all(status == "error" for status in results)
    # the breaker opened after the first timeouts: the rest skipped the cache at once
    assert pipeline.breaker.state == "open"
    await pipeline.close()
