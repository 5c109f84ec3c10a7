"""Correct answers only, end to end through the real proxy: every hit is one the asker would have got.

Each test asserts what a client sees: the upstream call count (the fake provider counts calls) and the
text that came back.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any

import pytest

from harness.services import FakeUpstream
from tests.gateway import ProxyHarness, start_harness

PNG_1PX = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cf"
        "c0f01f0005000201a5e6d3f60000000049454e44ae426082"
    )
).decode()


def conversation(system: str | None, *turns: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    for i, text in enumerate(turns):
        messages.append({"role": "user" if i % 2 == 0 else "assistant", "content": text})
    return messages


# --- conversation context and system prompt -------------------------------------------------------------
def test_a_follow_up_is_only_served_within_the_same_conversation(
    gateway: ProxyHarness, upstream: FakeUpstream
) -> None:
    eiffel = conversation(
        None, "Tell me about the Eiffel Tower.", "It is a wrought-iron tower in Paris.", "How tall is it?"
    )
    first = gateway.proxy.chat("gpt-a", messages=eiffel)
    gateway.wait_for_entries(1)

    liberty = conversation(
        None, "Tell me about the Statue of Liberty.", "It is a copper statue in New York.", "How tall is it?"
    )
    other = gateway.proxy.chat("gpt-a", messages=liberty)
    assert not other.cache_hit and upstream.calls == 2
    assert other.text != first.text

    # The same conversation, follow-up reworded: a hit (earlier turns match exactly).
    same = conversation(
        None,
        "Tell me about the Eiffel Tower.",
        "It is a wrought-iron tower in Paris.",
        "How tall is it exactly?",
    )
    again = gateway.proxy.chat("claude-b", messages=same)
    assert again.cache_hit and again.text == first.text and upstream.calls == 2


def test_different_system_prompts_never_share_an_entry(gateway: ProxyHarness, upstream: FakeUpstream) -> None:
    french = gateway.proxy.chat("gpt-a", messages=conversation("Answer in French.", "What is a cat?"))
    gateway.wait_for_entries(1)
    german = gateway.proxy.chat("gpt-a", messages=conversation("Answer in German.", "What is a cat?"))
    assert not german.cache_hit and upstream.calls == 2 and german.text != french.text
    gateway.wait_for_entries(2)
    french_again = gateway.proxy.chat("claude-b", messages=conversation("Answer in French.", "What's a cat?"))
    assert french_again.cache_hit and french_again.text == french.text and upstream.calls == 2


# --- parameters that change the answer ------------------------------------------------------------------
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_time",
            "description": "Time in a city",
            "parameters": {"type": "object", "properties": {}},
        },
    }
]


@pytest.mark.parametrize(
    ("body", "reason"),
    [({"tools": TOOLS}, "tools offered"), ({"n": 2}, "n > 1"), ({"logprobs": True}, "logprobs")],
)
def test_requests_whose_answer_depends_on_extra_parameters_are_not_cached(
    gateway: ProxyHarness, upstream: FakeUpstream, body: dict[str, Any], reason: str
) -> None:
    for _ in range(2):
        assert gateway.proxy.chat("gpt-a", "What is the boiling point of water?", **body).status == 200
    assert upstream.calls == 2, reason
    time.sleep(0.3)
    assert gateway.entry_keys() == [], reason


def test_answers_that_call_tools_are_not_stored(gateway: ProxyHarness, upstream: FakeUpstream) -> None:
    upstream.behave(tool_call=True, times=1)
    gateway.proxy.chat("gpt-a", "Explain photosynthesis briefly.")
    time.sleep(0.3)
    assert gateway.entry_keys() == []


def test_response_format_is_part_of_the_match(gateway: ProxyHarness, upstream: FakeUpstream) -> None:
    # Not "List three primary colors.": the cacheability classifier keeps that imperative out as private.
    plain = gateway.proxy.chat("gpt-a", "What are the three primary colors?")
    gateway.wait_for_entries(1)
    as_json = gateway.proxy.chat(
        "gpt-a", "What are the three primary colors?", response_format={"type": "json_object"}
    )
    assert not as_json.cache_hit and upstream.calls == 2
    gateway.wait_for_entries(2)
    again = gateway.proxy.chat(
        "gpt-a", "Which are the three primary colors?", response_format={"type": "json_object"}
    )
    assert again.cache_hit and again.text == as_json.text != plain.text


def test_temperature_is_ignored_by_default(gateway: ProxyHarness, upstream: FakeUpstream) -> None:
    first = gateway.proxy.chat("gpt-a", "What is the speed of light?", temperature=0.0)
    gateway.wait_for_entries(1)
    second = gateway.proxy.chat("gpt-a", "What's the speed of light?", temperature=0.7)
    assert second.cache_hit and second.text == first.text and upstream.calls == 1


def test_a_stored_answer_longer_than_max_tokens_is_not_served(
    gateway: ProxyHarness, upstream: FakeUpstream
) -> None:
    first = gateway.proxy.chat("gpt-a", "What is the tallest mountain on Earth?")
    gateway.wait_for_entries(1)
    words = len((first.text or "").split())
    short = gateway.proxy.chat("gpt-a", "Which mountain on Earth is the tallest?", max_tokens=words - 2)
    assert not short.cache_hit and upstream.calls == 2
    roomy = gateway.proxy.chat("gpt-a", "Which mountain on Earth is the tallest?", max_tokens=words + 50)
    assert roomy.cache_hit and upstream.calls == 2


# --- long prompts and non-text content ------------------------------------------------------------------
def test_long_prompts_that_differ_past_the_models_window_never_match(
    gateway: ProxyHarness, upstream: FakeUpstream
) -> None:
    prefix = " ".join(
        f"Paragraph {i}: the committee reviewed the quarterly logistics figures." for i in range(40)
    )
    red = prefix + " Question: should the new warehouse be painted red?"
    blue = prefix + " Question: should the new warehouse be demolished instead?"
    first = gateway.proxy.chat("gpt-a", red)
    gateway.wait_for_entries(1)
    second = gateway.proxy.chat("gpt-a", blue)
    assert not second.cache_hit and upstream.calls == 2 and second.text != first.text
    repeat = gateway.proxy.chat("claude-b", red)  # the exact same long prompt is still served
    assert repeat.cache_hit and repeat.text == first.text and upstream.calls == 2


def test_a_question_about_an_image_is_never_matched_on_its_text(
    gateway: ProxyHarness, upstream: FakeUpstream
) -> None:
    gateway.proxy.chat("gpt-a", "What is shown in this diagram?")
    gateway.wait_for_entries(1)
    with_image = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is shown in this diagram?"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_1PX}"}},
            ],
        }
    ]
    for _ in range(2):
        result = gateway.proxy.chat("gpt-a", messages=with_image)
        assert result.status == 200 and not result.cache_hit
    assert upstream.calls == 3
    assert len(gateway.entry_keys()) == 1


# --- only complete answers are stored -------------------------------------------------------------------
@pytest.mark.parametrize(
    "behaviour",
    [{"finish_reason": "length"}, {"finish_reason": "content_filter"}, {"empty": True}],
    ids=["length", "content_filter", "empty"],
)
@pytest.mark.parametrize("model", ["gpt-a", "claude-b"])
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_incomplete_answers_are_never_stored(
    gateway: ProxyHarness, upstream: FakeUpstream, model: str, behaviour: dict[str, Any], stream: bool
) -> None:
    upstream.behave(**behaviour, times=1)
    gateway.proxy.chat(model, "Write a haiku about autumn leaves.", stream=stream)
    time.sleep(0.4)
    assert gateway.entry_keys() == []
    fresh = gateway.proxy.chat(model, "Write a haiku about autumn leaves.")
    assert fresh.status == 200 and not fresh.cache_hit and upstream.calls == 2


@pytest.mark.parametrize("model", ["gpt-a", "claude-b"])
def test_a_stream_cut_off_midway_is_never_stored(
    gateway: ProxyHarness, upstream: FakeUpstream, model: str
) -> None:
    upstream.behave(cut_stream=True, times=1)
    cut = gateway.proxy.chat(model, "Describe the water cycle in detail please.", stream=True)
    assert not cut.done and "error" in cut.chunks[-1]  # the client saw a partial answer, then an error
    time.sleep(0.5)
    assert gateway.entry_keys() == []
    fresh = gateway.proxy.chat(model, "Describe the water cycle in detail please.")
    assert not fresh.cache_hit and upstream.calls == 2


def test_a_provider_error_is_not_stored(gateway: ProxyHarness, upstream: FakeUpstream) -> None:
    upstream.behave(status=500, times=1)
    failed = gateway.proxy.chat("gpt-a", "What is the speed of sound?")
    assert failed.status >= 400
    time.sleep(0.3)
    assert gateway.entry_keys() == []


# --- per-request controls -------------------------------------------------------------------------------
def test_no_cache_skips_the_lookup_but_still_refreshes_the_entry(
    gateway: ProxyHarness, upstream: FakeUpstream
) -> None:
    first = gateway.proxy.chat("gpt-a", "What is the largest ocean?")
    gateway.wait_for_entries(1)
    fresh = gateway.proxy.chat("gpt-a", "What is the largest ocean?", cache={"no-cache": True})
    assert not fresh.cache_hit and upstream.calls == 2 and fresh.text != first.text
    time.sleep(0.4)
    served = gateway.proxy.chat("gpt-a", "What is the largest ocean?")
    assert served.cache_hit and served.text == fresh.text


def test_no_store_keeps_the_answer_out(gateway: ProxyHarness, upstream: FakeUpstream) -> None:
    gateway.proxy.chat("gpt-a", "What is the largest desert?", cache={"no-store": True})
    time.sleep(0.4)
    assert gateway.entry_keys() == []
    assert not gateway.proxy.chat("gpt-a", "What is the largest desert?").cache_hit
    assert upstream.calls == 2


def test_ttl_per_request_and_a_hit_does_not_renew_it(gateway: ProxyHarness, upstream: FakeUpstream) -> None:
    gateway.proxy.chat("gpt-a", "How many continents are there?", cache={"ttl": 30})
    gateway.wait_for_entries(1)
    (key,) = gateway.entry_keys()
    ttl_before = gateway.redis.pttl(key)
    assert 25_000 < ttl_before <= 30_000
    time.sleep(1.1)
    assert gateway.proxy.chat("gpt-a", "How many continents are there on Earth?").cache_hit
    assert gateway.redis.pttl(key) <= ttl_before - 1000


def test_s_maxage_refuses_entries_older_than_asked(gateway: ProxyHarness, upstream: FakeUpstream) -> None:
    first = gateway.proxy.chat("gpt-a", "What is the chemical symbol for gold?")
    gateway.wait_for_entries(1)
    time.sleep(1.5)
    stale = gateway.proxy.chat("gpt-a", "What's the chemical symbol of gold?", cache={"s-maxage": 1})
    assert not stale.cache_hit and upstream.calls == 2
    fresh_enough = gateway.proxy.chat("gpt-a", "What's the chemical symbol of gold?", cache={"s-maxage": 600})
    assert fresh_enough.cache_hit and fresh_enough.text in (first.text, stale.text)


def test_namespaces_keep_entries_apart(gateway: ProxyHarness, upstream: FakeUpstream) -> None:
    a = gateway.proxy.chat("gpt-a", "What is the capital of Japan?", cache={"namespace": "support"})
    gateway.wait_for_entries(1)
    b = gateway.proxy.chat("gpt-a", "What's the capital city of Japan?", cache={"namespace": "sales"})
    assert not b.cache_hit and upstream.calls == 2
    plain = gateway.proxy.chat("gpt-a", "What's the capital city of Japan?")
    assert not plain.cache_hit and upstream.calls == 3
    gateway.wait_for_entries(3)
    again = gateway.proxy.chat(
        "claude-b", "What's the capital city of Japan?", cache={"namespace": "support"}
    )
    assert again.cache_hit and again.text == a.text


def test_per_request_similarity_threshold(gateway: ProxyHarness, upstream: FakeUpstream) -> None:
    gateway.proxy.chat("gpt-a", "What is the capital of France?")
    gateway.wait_for_entries(1)
    strict = gateway.proxy.chat(
        "gpt-a", "What's the capital city of France?", cache={"similarity-threshold": 0.999}
    )
    assert not strict.cache_hit and upstream.calls == 2
    bad = gateway.proxy.chat(
        "gpt-a", "Which city is the capital of France?", cache={"similarity-threshold": "high"}
    )
    assert bad.status == 400
    assert "similarity-threshold must be a number between 0 and 1" in str(bad.body)
    assert upstream.calls == 2  # a rejected request reaches no provider


# --- streaming ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["gpt-a", "claude-b"])
def test_a_streamed_miss_is_stored_and_replayed_as_a_proper_stream(
    gateway: ProxyHarness, upstream: FakeUpstream, model: str
) -> None:
    streamed = gateway.proxy.chat(model, "Why is the sky blue?", stream=True)
    assert streamed.status == 200 and streamed.done and not streamed.cache_hit
    gateway.wait_for_entries(1)

    replay = gateway.proxy.chat("gpt-a", "Can you tell me why the sky is blue?", stream=True)
    assert replay.cache_hit and upstream.calls == 1
    assert replay.text == streamed.text
    content_chunks = [c for c in replay.chunks if c["choices"] and c["choices"][0]["delta"].get("content")]
    assert len(content_chunks) >= 3
    assert replay.chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert replay.done  # data: [DONE]

    plain = gateway.proxy.chat("claude-b", "why is the sky blue")
    assert plain.cache_hit and plain.text == streamed.text and upstream.calls == 1


def test_a_plain_miss_serves_a_later_stream(gateway: ProxyHarness, upstream: FakeUpstream) -> None:
    plain = gateway.proxy.chat("claude-b", "How do vaccines work?")
    gateway.wait_for_entries(1)
    replay = gateway.proxy.chat("gpt-a", "Can you explain how vaccines work?", stream=True)
    assert replay.cache_hit and replay.done and replay.text == plain.text and upstream.calls == 1
    assert len(gateway.entry_keys()) == 1  # one entry serves both


# --- isolation and per-group scope (a proxy with non-default settings) ----------------------------------
@pytest.fixture(scope="module")
def strict_proxy(
    tmp_path_factory: pytest.TempPathFactory, fake_upstream: FakeUpstream, redis_url: str
) -> Iterator[ProxyHarness]:
    harness = start_harness(
        tmp_path_factory.mktemp("strict"), fake_upstream, redis_url, isolation="end_user", scope="model_group"
    )
    yield harness
    harness.close()


@pytest.fixture
def strict(strict_proxy: ProxyHarness, upstream: FakeUpstream) -> ProxyHarness:
    strict_proxy.clear()
    return strict_proxy


def test_end_user_isolation_separates_users_without_costing_hits_inside_one(
    strict: ProxyHarness, upstream: FakeUpstream
) -> None:
    alice = strict.proxy.chat("gpt-a", "How do I reset a forgotten password?", user="alice")
    strict.wait_for_entries(1)
    bob = strict.proxy.chat("gpt-a", "How do I reset a forgotten password?", user="bob")
    assert not bob.cache_hit and upstream.calls == 2
    alice_again = strict.proxy.chat("gpt-a", "How can I reset my forgotten password?", user="alice")
    assert alice_again.cache_hit and alice_again.text == alice.text and upstream.calls == 2
    for key in strict.entry_keys():  # identities are stored hashed
        tenant = strict.redis.hget(key, "tenant") or b""
        assert b"alice" not in tenant and b"bob" not in tenant


def test_model_group_scope_keeps_groups_apart(strict: ProxyHarness, upstream: FakeUpstream) -> None:
    strict.proxy.chat("gpt-a", "What is the boiling point of water at sea level?", user="carol")
    strict.wait_for_entries(1)
    other_group = strict.proxy.chat(
        "claude-b", "What is the boiling point of water at sea level?", user="carol"
    )
    assert not other_group.cache_hit and upstream.calls == 2
    same_group = strict.proxy.chat("gpt-a", "At sea level, what's water's boiling point?", user="carol")
    assert same_group.cache_hit and upstream.calls == 2


def test_a_question_about_another_country_never_gets_this_ones_answer(
    gateway: ProxyHarness, upstream: FakeUpstream
) -> None:
    """Found by the chaos benchmark: Guatemala's question was served Belize's answer (verifier 0.97)."""
    gateway.proxy.chat("gpt-a", "What is the biggest city of Belize?")
    gateway.wait_for_entries(1)
    other = gateway.proxy.chat("gpt-a", "What is the largest city in Guatemala?")
    assert not other.cache_hit and upstream.calls == 2
    assert other.headers["x-semcache-reason"] == "contrast:entity"
