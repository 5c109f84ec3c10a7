"""The backend against a real Redis Stack and the real embedding model."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
import redis

from litellm_semcache.embedding import Embedder
from litellm_semcache.errors import SchemaMismatchError
from litellm_semcache.store.schema import Fields, entry_prefix
from tests.builders import answer_text, chat, completion


async def test_store_then_look_up_a_paraphrase(backend_factory: Any) -> None:
    backend = backend_factory()
    question = chat("What is the capital of France?")
    assert await backend.async_get_cache("k", **question) is None
    await backend.async_set_cache("k", completion("Paris."), **question)

    paraphrase = chat("Can you tell me the capital of France?", group="claude-b")
    cached = await backend.async_get_cache("k", **paraphrase)
    assert cached is not None and answer_text(cached) == "Paris."
    similarity = paraphrase["metadata"]["semantic-similarity"]
    assert 0.92 <= similarity < 1.0

    exact = chat("  What is the capital of France?\n")  # the text as sent, up to outer whitespace
    assert answer_text(await backend.async_get_cache("k", **exact)) == "Paris."
    assert exact["metadata"]["semantic-similarity"] == 1.0

    assert await backend.async_get_cache("k", **chat("How do I bake sourdough bread?")) is None


async def test_threshold_boundary(backend_factory: Any, embedder: Embedder) -> None:
    stored, asked = "How do I reset my password?", "I forgot my password, how do I change it?"
    vectors = embedder.encode_batch([stored, asked])
    similarity = float(vectors[0].vector @ vectors[1].vector)  # type: ignore[operator]
    low, high = 0.85, 0.95
    assert low < similarity < high, similarity

    # The cosine gate alone (the expert override without the learned verifier).
    lenient = backend_factory(similarity_threshold=low, learned_verifier=False)
    await lenient.async_set_cache("k", completion("Use the reset link."), **chat(stored))
    assert await lenient.async_get_cache("k", **chat(asked)) is not None

    strict = backend_factory(similarity_threshold=high, learned_verifier=False)  # same index, same entry
    assert await strict.async_get_cache("k", **chat(asked)) is None
    # A per-request threshold overrides the setting, both ways.
    assert await strict.async_get_cache("k", **chat(asked, cache={"similarity-threshold": low})) is not None
    assert await lenient.async_get_cache("k", **chat(asked, cache={"similarity-threshold": high})) is None


async def test_entries_expire_after_their_ttl(backend_factory: Any, redis_url: str, index_name: str) -> None:
    backend = backend_factory(ttl_seconds=3600)
    question = chat("How many legs does a spider have?")
    await backend.async_set_cache("k", completion("Eight."), ttl=1, **question)
    assert await backend.async_get_cache("k", **chat("How many legs do spiders have?")) is not None
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{entry_prefix(index_name)}:*"))
    assert len(keys) == 1 and 0 < client.ttl(keys[0]) <= 1
    await asyncio.sleep(1.6)
    assert await backend.async_get_cache("k", **chat("How many legs do spiders have?")) is None
    assert await backend.async_get_cache("k", **question) is None
    assert not list(client.scan_iter(match=f"{entry_prefix(index_name)}:*"))
    client.close()


async def test_default_ttl_applies_when_the_request_sets_none(
    backend_factory: Any, redis_url: str, index_name: str
) -> None:
    backend = backend_factory(ttl_seconds=1234)
    await backend.async_set_cache("k", completion("Eight."), **chat("How many legs does a spider have?"))
    client = redis.Redis.from_url(redis_url)
    (key,) = list(client.scan_iter(match=f"{entry_prefix(index_name)}:*"))
    assert 1230 <= client.ttl(key) <= 1234
    client.close()


async def test_a_dropped_index_is_recreated_and_caching_resumes(
    backend_factory: Any, redis_url: str, index_name: str
) -> None:
    backend = backend_factory()
    await backend.async_set_cache("k", completion("Paris."), **chat("What is the capital of France?"))
    client = redis.Redis.from_url(redis_url)
    client.execute_command("FT.DROPINDEX", index_name, "DD")  # someone dropped it with its documents
    assert await backend.async_get_cache("k", **chat("Which city is the capital of France?")) is None
    assert client.execute_command("FT._LIST").count(index_name.encode()) == 1  # recreated

    await backend.async_set_cache("k", completion("Eight."), **chat("How many legs does a spider have?"))
    cached = await backend.async_get_cache("k", **chat("How many legs do spiders have?"))
    assert cached is not None and answer_text(cached) == "Eight."
    client.close()


async def test_an_index_with_another_schema_is_refused_clearly(
    backend_factory: Any, redis_url: str, index_name: str
) -> None:
    client = redis.Redis.from_url(redis_url)
    client.execute_command(
        "FT.CREATE",
        index_name,
        "ON",
        "HASH",
        "PREFIX",
        "1",
        f"{entry_prefix(index_name)}:",
        "SCHEMA",
        Fields.QUERY,
        "TEXT",
        Fields.EMBEDDING,
        "VECTOR",
        "FLAT",
        "6",
        "TYPE",
        "FLOAT32",
        "DIM",
        "768",
        "DISTANCE_METRIC",
        "COSINE",
    )
    client.close()
    backend = backend_factory()
    with pytest.raises(SchemaMismatchError, match=f"{index_name}.*different schema.*dims"):
        await backend.store.ensure_index()
    # On the request path the mismatch never breaks a request: it is a miss, and nothing is written.
    assert await backend.async_get_cache("k", **chat("What is the capital of France?")) is None
    await backend.async_set_cache("k", completion("Paris."), **chat("What is the capital of France?"))
    client = redis.Redis.from_url(redis_url)
    assert not list(client.scan_iter(match=f"{entry_prefix(index_name)}:*"))
    client.close()


async def test_incomplete_answers_and_filtered_questions_are_not_stored(
    backend_factory: Any, redis_url: str, index_name: str
) -> None:
    backend = backend_factory()
    await backend.async_set_cache(
        "k", completion("Par", finish_reason="length"), **chat("Capital of France?")
    )
    await backend.async_set_cache("k", completion(""), **chat("Capital of Spain?"))
    await backend.async_set_cache("k", completion("42 euros."), **chat("What is my balance?"))
    client = redis.Redis.from_url(redis_url)
    assert not list(client.scan_iter(match=f"{index_name}:*"))
    client.close()
    assert await backend.async_get_cache("k", **chat("What is my balance?")) is None


async def test_concurrent_lookups_are_batched_without_changing_any_decision(
    backend_factory: Any, embedder: Embedder
) -> None:
    backend = backend_factory(  # a pure similarity decision
        similarity_threshold=0.92, contrast_guard=False, learned_verifier=False
    )
    stored = "What is the capital of France?"
    await backend.async_set_cache("k", completion("Paris."), **chat(stored))
    questions = [
        "Which city is the capital of France?",
        "What's France's capital city?",
        "capital of france?",
        "Tell me the capital of France",
        "How do I bake sourdough bread?",
        "What is the capital of Spain?",
        "Name the French capital",
        "What is the population of France?",
        "Paris or Lyon: which is the capital?",
        "Where is the Eiffel Tower?",
        "What is the capital city of France, please?",
        "Is Paris in France?",
    ]
    # Expected outcome from one-at-a-time encoding; the concurrent calls are coalesced into batches.
    reference = embedder.encode_batch([stored])[0].vector
    expected = [float(embedder.encode_batch([q])[0].vector @ reference) for q in questions]  # type: ignore[operator]
    results = await asyncio.gather(*(backend.lookup(chat(q)) for q in questions))
    assert {r.status for r in results} == {"hit", "miss"}
    for question, result, similarity in zip(questions, results, expected, strict=False):
        assert result.status == ("hit" if similarity >= 0.92 else "miss"), question
        assert result.similarity == pytest.approx(similarity, abs=2e-3), question


def identity(team: str | None, key: str, end_user: str | None = None) -> dict[str, Any]:
    """Request metadata as the proxy fills it for a virtual key (hashed key, team, end user)."""
    return {
        "model_group": "gpt-a",
        "user_api_key_hash": key,
        "user_api_key_team_id": team,
        "user_api_key_end_user_id": end_user,
    }


def with_identity(text: str, md: dict[str, Any]) -> dict[str, Any]:
    return {"model": "gpt-a", "messages": [{"role": "user", "content": text}], "metadata": dict(md)}


@pytest.mark.parametrize(
    ("isolation", "owner", "same_tenant", "other_tenant"),
    [
        ("team", identity("team-a", "key-1"), identity("team-a", "key-2"), identity("team-b", "key-3")),
        ("team", identity(None, "key-1"), identity(None, "key-1"), identity(None, "key-2")),
        ("key", identity("team-a", "key-1"), identity("team-b", "key-1"), identity("team-a", "key-2")),
        (
            "end_user",
            identity("team-a", "key-1", "u1"),
            identity("team-a", "key-2", "u1"),
            identity("team-a", "key-1", "u2"),
        ),
        (  # the end-user id is the client's word: "u1" through another team's key is someone else
            "end_user",
            identity("team-a", "key-1", "u1"),
            identity("team-a", "key-1", "u1"),
            identity("team-b", "key-2", "u1"),
        ),
    ],
    ids=["team", "team-without-team-falls-back-to-key", "key", "end_user", "end_user-of-another-team"],
)
async def test_tenant_isolation_from_proxy_metadata(
    backend_factory: Any,
    isolation: str,
    owner: dict[str, Any],
    same_tenant: dict[str, Any],
    other_tenant: dict[str, Any],
) -> None:
    backend = backend_factory(isolation=isolation)
    await backend.async_set_cache(
        "k", completion("Use the reset link."), **with_identity("How do I reset a forgotten password?", owner)
    )
    paraphrase = "How can I reset my forgotten password?"
    served = await backend.async_get_cache("k", **with_identity(paraphrase, same_tenant))
    assert served is not None and answer_text(served) == "Use the reset link."  # a semantic hit in-tenant
    assert await backend.async_get_cache("k", **with_identity(paraphrase, other_tenant)) is None
    assert (
        await backend.async_get_cache(
            "k", **with_identity("How do I reset a forgotten password?", other_tenant)
        )
        is None
    )


async def test_no_isolation_shares_across_tenants(backend_factory: Any) -> None:
    backend = backend_factory(isolation="none")
    await backend.async_set_cache(
        "k",
        completion("Paris."),
        **with_identity("What is the capital of France?", identity("a", "k1", "u1")),
    )
    served = await backend.async_get_cache(
        "k", **with_identity("Can you tell me the capital of France?", identity("b", "k2", "u2"))
    )
    assert served is not None


async def test_stored_identities_are_hashed(backend_factory: Any, redis_url: str, index_name: str) -> None:
    backend = backend_factory(isolation="end_user")
    await backend.async_set_cache(
        "k",
        completion("Paris."),
        **with_identity(
            "What is the capital of France?", identity("team-secret", "sk-live-abcdef", "alice@example.com")
        ),
    )
    client = redis.Redis.from_url(redis_url)
    (key,) = list(client.scan_iter(match=f"{entry_prefix(index_name)}:*"))
    fields = cast("dict[bytes, bytes]", client.hgetall(key))  # no decode_responses: bytes, not str
    stored = b" ".join(v for k, v in fields.items() if k != Fields.EMBEDDING.encode())
    client.close()
    for secret in (b"alice", b"sk-live", b"team-secret"):
        assert secret not in stored


async def test_an_oversized_prompt_is_matched_exactly_only_and_stored_trimmed(
    backend_factory: Any, redis_url: str, index_name: str
) -> None:
    backend = backend_factory()
    huge = "Please summarise the following log. " + "line of a very long log output " * 5_000  # ~150 KB
    assert (await backend.lookup(chat(huge))).reason == "query_too_long_for_embedding"
    too_big = huge * 2  # past max_prompt_chars (200,000): not cached at all
    assert (await backend.lookup(chat(too_big))).reason == "prompt_too_long"
    await backend.async_set_cache("k", completion("A summary."), **chat(too_big))
    await backend.async_set_cache("k", completion("A summary."), **chat(huge))
    assert answer_text(await backend.async_get_cache("k", **chat(huge))) == "A summary."  # exact repeat
    shorter = huge[: len(huge) // 2]
    assert await backend.async_get_cache("k", **chat(shorter)) is None  # same beginning, never by meaning
    client = redis.Redis.from_url(redis_url)
    (key,) = list(client.scan_iter(match=f"{entry_prefix(index_name)}:*"))
    assert len(client.hget(key, Fields.QUERY) or b"") <= 4000
    assert not client.hexists(key, Fields.EMBEDDING)
    client.close()
