"""Every API through the real proxy, with the official SDKs: Anthropic ``/v1/messages``, OpenAI
``/v1/responses``, ``/v1/completions`` and chat completions share one meaning-keyed cache.

The fake upstream serves each API natively and counts calls per API; the proxy routes ``claude-b`` to
its Anthropic API and ``gpt-a`` to its OpenAI APIs (so ``/v1/messages`` on ``gpt-a`` and
``/v1/responses`` on ``claude-b`` go through LiteLLM's translations). Bearer tokens map to teams through
``custom_auth`` (the master key is an admin without a team).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from harness.services import MASTER_KEY, FakeUpstream
from tests.gateway import ProxyHarness, start_harness

CUSTOM_AUTH = Path(__file__).with_name("custom_auth.py")
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
QUESTION = "What is the capital of France?"
PARAPHRASES = ("Which city is the capital of France?", "What's the capital city of France?")


@pytest.fixture(scope="module")
def formats_proxy(
    tmp_path_factory: pytest.TempPathFactory, fake_upstream: FakeUpstream, redis_url: str
) -> Iterator[ProxyHarness]:
    """One proxy for every test here (a start costs ~15 s)."""
    harness = start_harness(
        tmp_path_factory.mktemp("formats"), fake_upstream, redis_url, custom_auth=CUSTOM_AUTH
    )
    yield harness
    harness.close()


@pytest.fixture
def proxy(formats_proxy: ProxyHarness, upstream: FakeUpstream) -> ProxyHarness:
    formats_proxy.clear()
    return formats_proxy


@pytest.fixture
def claude(formats_proxy: ProxyHarness) -> Iterator[anthropic.Anthropic]:
    client = anthropic.Anthropic(base_url=formats_proxy.proxy.base_url, api_key=MASTER_KEY, max_retries=0)
    yield client
    client.close()


@pytest.fixture
def oai(formats_proxy: ProxyHarness) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(base_url=f"{formats_proxy.proxy.base_url}/v1", api_key=MASTER_KEY, max_retries=0)
    yield client
    client.close()


def status(headers: Mapping[str, str]) -> tuple[str | None, str | None]:
    return headers.get("x-semcache-status"), headers.get("x-semcache-reason")


def text_of(message: Any) -> str:
    """The text blocks of an Anthropic message, joined."""
    return "".join(block.text for block in message.content if block.type == "text")


def ask_messages(
    claude: anthropic.Anthropic, text: str, model: str = "claude-b", **body: Any
) -> tuple[str, Mapping[str, str], Any]:
    raw = claude.messages.with_raw_response.create(
        model=model,
        max_tokens=body.pop("max_tokens", 512),
        messages=[{"role": "user", "content": text}],
        **body,
    )
    message = raw.parse()
    return text_of(message), raw.headers, message


def ask_responses(
    oai: openai.OpenAI, text: Any, model: str = "gpt-a", **body: Any
) -> tuple[str, Mapping[str, str], Any]:
    raw = oai.responses.with_raw_response.create(model=model, input=text, **body)
    response = raw.parse()
    return response.output_text, raw.headers, response


def ask_chat(
    oai: openai.OpenAI, text: str, model: str = "gpt-a", **body: Any
) -> tuple[str, Mapping[str, str]]:
    raw = oai.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": text}], **body
    )
    return raw.parse().choices[0].message.content or "", raw.headers


# --- each API: a miss, then a paraphrase hit --------------------------------------------------------------
def test_messages_miss_then_paraphrase_hit(
    proxy: ProxyHarness, upstream: FakeUpstream, claude: anthropic.Anthropic
) -> None:
    first, headers, _ = ask_messages(claude, QUESTION)
    assert status(headers) == ("miss", "no_candidates") and "from anthropic" in first
    proxy.wait_for_entries(1)
    for paraphrase in PARAPHRASES:
        text, headers, message = ask_messages(claude, paraphrase)
        assert status(headers) == ("hit", "semantic") and headers.get("x-semcache-entry-id")
        assert text == first
        assert message.type == "message" and message.role == "assistant" and message.stop_reason == "end_turn"
        assert message.usage.output_tokens > 0
    assert upstream.stats()["anthropic"] == 1 and upstream.calls == 1


def test_responses_miss_then_paraphrase_hit(
    proxy: ProxyHarness, upstream: FakeUpstream, oai: openai.OpenAI
) -> None:
    first, headers, _ = ask_responses(oai, QUESTION)
    assert status(headers) == ("miss", "no_candidates") and "from responses" in first
    proxy.wait_for_entries(1)
    text, headers, response = ask_responses(oai, PARAPHRASES[0])
    assert status(headers) == ("hit", "semantic") and text == first
    assert response.object == "response" and response.status == "completed"
    assert response.output[0].type == "message" and response.usage is not None
    assert upstream.stats()["responses"] == 1 and upstream.calls == 1


def test_completions_miss_then_paraphrase_hit(
    proxy: ProxyHarness, upstream: FakeUpstream, oai: openai.OpenAI
) -> None:
    raw = oai.completions.with_raw_response.create(model="gpt-a", prompt="The capital of France is")
    first = raw.parse().choices[0].text
    assert status(raw.headers)[0] == "miss"
    proxy.wait_for_entries(1)
    raw = oai.completions.with_raw_response.create(model="gpt-a", prompt="The capital city of France is")
    assert status(raw.headers) == ("hit", "semantic")
    completion = raw.parse()
    assert completion.object == "text_completion" and completion.choices[0].text == first
    stream = oai.completions.create(model="gpt-a", prompt="France's capital city is", stream=True)
    assert "".join(c.choices[0].text or "" for c in stream if c.choices) == first
    assert upstream.calls == 1
    # A prompt is continued, not answered: completions never serve chat (or the reverse).
    _, headers = ask_chat(oai, "The capital of France is")
    assert status(headers)[0] == "miss"


# --- one entry, every API ------------------------------------------------------------------------------
def test_chat_answers_messages(
    proxy: ProxyHarness, upstream: FakeUpstream, oai: openai.OpenAI, claude: anthropic.Anthropic
) -> None:
    first, _ = ask_chat(oai, QUESTION)
    proxy.wait_for_entries(1)
    text, headers, message = ask_messages(claude, PARAPHRASES[0])
    assert status(headers)[0] == "hit" and text == first and message.content[0].type == "text"
    assert upstream.calls == 1 and upstream.stats()["anthropic"] == 0


def test_messages_answer_responses(
    proxy: ProxyHarness, upstream: FakeUpstream, oai: openai.OpenAI, claude: anthropic.Anthropic
) -> None:
    first, _, _ = ask_messages(claude, QUESTION)
    proxy.wait_for_entries(1)
    text, headers, response = ask_responses(oai, PARAPHRASES[1])
    assert status(headers)[0] == "hit" and text == first and response.status == "completed"
    assert upstream.calls == 1 and upstream.stats()["responses"] == 0


def test_responses_answer_chat(
    proxy: ProxyHarness, upstream: FakeUpstream, oai: openai.OpenAI, claude: anthropic.Anthropic
) -> None:
    first, _, _ = ask_responses(oai, QUESTION, instructions="Answer briefly.")
    proxy.wait_for_entries(1)
    raw = oai.chat.completions.with_raw_response.create(
        model="claude-b",
        messages=[
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": PARAPHRASES[0]},
        ],
    )
    assert status(raw.headers)[0] == "hit" and raw.parse().choices[0].message.content == first
    # the same system prompt through /v1/messages too; without it, nothing
    text, headers, _ = ask_messages(claude, PARAPHRASES[1], system="Answer briefly.")
    assert status(headers)[0] == "hit" and text == first
    assert status(ask_messages(claude, PARAPHRASES[1])[1])[0] == "miss"
    assert upstream.stats()["responses"] == 1 and upstream.stats()["openai"] == 0


def test_a_translated_call_is_looked_up_and_stored_once(
    proxy: ProxyHarness, upstream: FakeUpstream, oai: openai.OpenAI, claude: anthropic.Anthropic
) -> None:
    # LiteLLM answers /v1/messages for an OpenAI model through the Responses API, and /v1/responses for
    # an Anthropic model through chat completions: each request is one miss and one entry.
    stats_key = f"{proxy.index_name}:stats"
    time.sleep(1.5)  # the counts of earlier tests are flushed about once a second
    proxy.redis.delete(stats_key)
    first, headers, _ = ask_messages(claude, QUESTION, model="gpt-a")
    assert status(headers)[0] == "miss" and upstream.stats()["responses"] == 1
    second, headers, _ = ask_responses(oai, "How many legs does a spider have?", model="claude-b")
    assert status(headers)[0] == "miss" and upstream.stats()["anthropic"] == 1
    proxy.wait_for_entries(2)
    deadline = time.monotonic() + 10
    while int(proxy.redis.hget(stats_key, "stored") or 0) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.5)  # counters are flushed about once a second: any double count would have landed
    raw_counts: dict[bytes, bytes] = proxy.redis.hgetall(stats_key)  # type: ignore[assignment]
    counts = {k.decode(): int(v) for k, v in raw_counts.items() if v.isdigit()}
    assert (counts.get("miss"), counts.get("stored")) == (2, 2), counts
    assert len(proxy.entry_keys()) == 2
    assert ask_chat(oai, PARAPHRASES[0])[0] == first
    assert ask_messages(claude, "How many legs do spiders have?")[0] == second
    assert upstream.calls == 2


# --- native streams ----------------------------------------------------------------------------------
def test_a_streamed_messages_hit_replays_the_messages_event_stream(
    proxy: ProxyHarness, upstream: FakeUpstream, oai: openai.OpenAI, claude: anthropic.Anthropic
) -> None:
    first, _ = ask_chat(oai, QUESTION)
    proxy.wait_for_entries(1)
    with claude.messages.stream(
        model="claude-b", max_tokens=512, messages=[{"role": "user", "content": PARAPHRASES[0]}]
    ) as stream:
        assert status(stream.response.headers)[0] == "hit"
        kinds = [event.type for event in stream]
        message = stream.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert kinds.count("content_block_delta") > 1  # replayed in pieces, not one blob
    assert text_of(message) == first and message.stop_reason == "end_turn"
    assert upstream.calls == 1


def test_a_streamed_responses_hit_replays_the_responses_event_stream(
    proxy: ProxyHarness, upstream: FakeUpstream, claude: anthropic.Anthropic, oai: openai.OpenAI
) -> None:
    first, _, _ = ask_messages(claude, QUESTION)
    proxy.wait_for_entries(1)
    with oai.responses.stream(model="gpt-a", input=PARAPHRASES[0]) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "response.output_text.delta" in kinds
    assert final.output_text == first and final.status == "completed"
    raw = oai.responses.with_raw_response.create(model="gpt-a", input=PARAPHRASES[1], stream=True)
    assert status(raw.headers)[0] == "hit"
    events = list(raw.parse())
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == first
    assert upstream.calls == 1


@pytest.mark.parametrize("api", ["messages", "responses"])
def test_a_streamed_miss_is_stored_once_complete_and_serves_plain_requests(
    proxy: ProxyHarness,
    upstream: FakeUpstream,
    claude: anthropic.Anthropic,
    oai: openai.OpenAI,
    api: str,
) -> None:
    if api == "messages":
        with claude.messages.stream(
            model="claude-b", max_tokens=512, messages=[{"role": "user", "content": QUESTION}]
        ) as stream:
            first = text_of(stream.get_final_message())
    else:
        with oai.responses.stream(model="gpt-a", input=QUESTION) as stream:
            first = stream.get_final_response().output_text
    proxy.wait_for_entries(1)
    assert ask_chat(oai, PARAPHRASES[0])[0] == first
    assert ask_messages(claude, PARAPHRASES[1])[0] == first
    assert upstream.calls == 1


@pytest.mark.parametrize("api", ["messages", "responses"])
def test_a_stream_cut_off_midway_is_never_stored(
    proxy: ProxyHarness, upstream: FakeUpstream, claude: anthropic.Anthropic, oai: openai.OpenAI, api: str
) -> None:
    upstream.behave(cut_stream=True, times=1)
    with pytest.raises(Exception):  # noqa: B017  # the SDK reports the broken stream its own way
        if api == "messages":
            with claude.messages.stream(
                model="claude-b", max_tokens=512, messages=[{"role": "user", "content": QUESTION}]
            ) as stream:
                stream.get_final_message()
        else:
            with oai.responses.stream(model="gpt-a", input=QUESTION) as stream:
                stream.get_final_response()
    proxy.assert_nothing_stored()


# --- never served from the cache ----------------------------------------------------------------------
def test_tools_images_and_other_histories_are_never_served_through_messages(
    proxy: ProxyHarness, upstream: FakeUpstream, claude: anthropic.Anthropic
) -> None:
    weather = {"name": "weather", "description": "weather now", "input_schema": {"type": "object"}}
    for _ in range(2):
        _, headers, _ = ask_messages(claude, QUESTION, tools=[weather])
        assert status(headers) == ("skipped", "tools")
    image: list[Any] = [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "text", "text": "What is in this image?"},
    ]
    raw = claude.messages.with_raw_response.create(
        model="claude-b", max_tokens=100, messages=[{"role": "user", "content": image}]
    )
    assert status(raw.headers) == ("skipped", "non_text_content")
    proxy.assert_nothing_stored(0.5)

    def follow_up(topic: str) -> tuple[str | None, str | None]:
        raw = claude.messages.with_raw_response.create(
            model="claude-b",
            max_tokens=100,
            messages=[
                {"role": "user", "content": f"Tell me about the {topic}."},
                {"role": "assistant", "content": f"The {topic} is a famous landmark."},
                {"role": "user", "content": "How tall is it?"},
            ],
        )
        return status(raw.headers)

    assert follow_up("Eiffel Tower")[0] == "miss"
    proxy.wait_for_entries(1)
    assert follow_up("Statue of Liberty")[0] == "miss"
    assert follow_up("Eiffel Tower") == ("hit", "exact")
    assert upstream.stats()["anthropic"] == 5


def test_tools_images_and_other_histories_are_never_served_through_responses(
    proxy: ProxyHarness, upstream: FakeUpstream, oai: openai.OpenAI
) -> None:
    weather = {"type": "function", "name": "weather", "parameters": {"type": "object", "properties": {}}}
    assert status(ask_responses(oai, QUESTION, tools=[weather])[1]) == ("skipped", "tools")
    image: list[Any] = [
        {
            "role": "user",
            "content": [
                {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}"},
                {"type": "input_text", "text": "What is in this image?"},
            ],
        }
    ]
    assert status(ask_responses(oai, image)[1]) == ("skipped", "non_text_content")
    proxy.assert_nothing_stored(0.5)
    # previous_response_id chains: an answer given after one history never serves another
    first, headers, _ = ask_responses(oai, "How tall is it?", previous_response_id="resp_eiffel")
    assert status(headers)[0] == "miss"
    proxy.wait_for_entries(1)
    assert status(ask_responses(oai, "How tall is it?", previous_response_id="resp_liberty")[1])[0] == "miss"
    assert status(ask_responses(oai, "How tall is it?")[1])[0] == "miss"
    text, headers, _ = ask_responses(oai, "How tall is it?", previous_response_id="resp_eiffel")
    assert status(headers) == ("hit", "exact") and text == first


def test_a_follow_up_continues_a_cached_response_the_provider_never_saw(
    proxy: ProxyHarness, upstream: FakeUpstream, oai: openai.OpenAI
) -> None:
    first, _ = ask_chat(oai, "Tell me about the Eiffel Tower.")
    proxy.wait_for_entries(1)
    for stream in (False, True):
        before = upstream.stats()["responses"]
        if stream:
            with oai.responses.stream(
                model="gpt-a", input="What can you tell me about the Eiffel Tower?"
            ) as events:
                hit = events.get_final_response()
        else:
            text, headers, hit = ask_responses(oai, "Tell me something about the Eiffel Tower.")
            assert status(headers)[0] == "hit" and text == first
        assert upstream.stats()["responses"] == before  # a hit
        # The follow-up reaches the provider with the history spelled out, not an id it never issued.
        answer, headers, _ = ask_responses(oai, "How tall is it?", previous_response_id=hit.id)
        assert status(headers)[0] == "miss" and "How tall is it?" in answer
        sent = upstream.last_body("responses")
        assert "previous_response_id" not in sent
        assert sent["input"][1:] == [
            {"role": "assistant", "content": first},
            {"role": "user", "content": "How tall is it?"},
        ]
    with pytest.raises(openai.BadRequestError, match="no longer known"):
        ask_responses(oai, "How tall is it?", previous_response_id="resp_semcache_0123")


def test_only_the_team_a_cached_response_was_served_to_can_continue_it(
    proxy: ProxyHarness, upstream: FakeUpstream
) -> None:
    base = f"{proxy.proxy.base_url}/v1"
    team_a = openai.OpenAI(base_url=base, api_key="sk-team-a-1", max_retries=0)
    team_a2 = openai.OpenAI(base_url=base, api_key="sk-team-a-2", max_retries=0)
    team_b = openai.OpenAI(base_url=base, api_key="sk-team-b-1", max_retries=0)
    try:
        ask_chat(team_a, "Tell me about the Eiffel Tower.")
        proxy.wait_for_entries(1)
        _, headers, hit = ask_responses(team_a, "Tell me something about the Eiffel Tower.")
        assert status(headers)[0] == "hit"
        with pytest.raises((openai.BadRequestError, openai.PermissionDeniedError)):
            ask_responses(team_b, "How tall is it?", previous_response_id=hit.id)
        calls = upstream.calls
        _, headers, _ = ask_responses(team_a2, "How tall is it?", previous_response_id=hit.id)
        assert status(headers)[0] == "miss" and upstream.calls == calls + 1
    finally:
        for client in (team_a, team_a2, team_b):
            client.close()


def test_incomplete_and_tool_answers_are_never_stored(
    proxy: ProxyHarness, upstream: FakeUpstream, claude: anthropic.Anthropic, oai: openai.OpenAI
) -> None:
    upstream.behave(finish_reason="length")
    _, _, message = ask_messages(claude, QUESTION)
    assert message.stop_reason == "max_tokens"
    _, _, response = ask_responses(oai, QUESTION)
    assert response.status == "incomplete"
    upstream.behave(tool_call=True)
    _, _, message = ask_messages(claude, PARAPHRASES[0])
    assert message.stop_reason == "tool_use"
    _, _, response = ask_responses(oai, PARAPHRASES[0])
    assert response.output[0].type == "function_call"
    proxy.assert_nothing_stored()


# --- controls and headers ------------------------------------------------------------------------------
def test_cache_controls_in_the_body_or_the_header_on_every_api(
    proxy: ProxyHarness, upstream: FakeUpstream, claude: anthropic.Anthropic, oai: openai.OpenAI
) -> None:
    ask_messages(claude, QUESTION, extra_body={"cache": {"no-store": True}})
    ask_responses(oai, QUESTION, extra_headers={"x-semcache-control": "no-store"})
    proxy.assert_nothing_stored()
    assert "cache" not in upstream.last_keys()["anthropic"]  # never sent on to the provider
    first, _, _ = ask_messages(
        claude, QUESTION, extra_headers={"x-semcache-control": "ttl=120, namespace=docs"}
    )
    proxy.wait_for_entries(1)
    (key,) = proxy.entry_keys()
    assert 0 < proxy.redis.ttl(key) <= 120
    assert status(ask_responses(oai, PARAPHRASES[0])[1])[0] == "miss"  # another namespace
    text, headers, _ = ask_responses(oai, PARAPHRASES[0], extra_body={"cache": {"namespace": "docs"}})
    assert status(headers)[0] == "hit" and text == first
    no_cache = {"x-semcache-control": "namespace=docs, no-cache"}
    assert status(ask_messages(claude, PARAPHRASES[1], extra_headers=no_cache)[1])[0] != "hit"


def test_a_malformed_control_header_is_a_clear_400_in_the_apis_own_error_shape(
    proxy: ProxyHarness, upstream: FakeUpstream, claude: anthropic.Anthropic, oai: openai.OpenAI
) -> None:
    with pytest.raises(anthropic.BadRequestError, match="x-semcache-control.ttl"):
        ask_messages(claude, QUESTION, extra_headers={"x-semcache-control": "ttl=abc"})
    with pytest.raises(openai.BadRequestError, match="unknown directive"):
        ask_responses(oai, QUESTION, extra_headers={"x-semcache-control": "teleport"})
    with pytest.raises(openai.BadRequestError, match="cache.ttl"):
        ask_responses(oai, QUESTION, extra_body={"cache": {"ttl": -5}})
    assert upstream.calls == 0


def test_anthropic_metadata_never_names_another_team(proxy: ProxyHarness, upstream: FakeUpstream) -> None:
    # On /v1/messages `metadata` is the API's own field, filled in by the client: the plugin never reads
    # identity from it (and LiteLLM strips `user_api_key_*` from it too).
    team_a = anthropic.Anthropic(base_url=proxy.proxy.base_url, api_key="sk-team-a-1", max_retries=0)
    team_b = anthropic.Anthropic(base_url=proxy.proxy.base_url, api_key="sk-team-b-1", max_retries=0)
    try:
        ask_messages(team_a, QUESTION)
        proxy.wait_for_entries(1)
        spoof = {"user_api_key_team_id": "team-a", "user_id": "mallory"}
        _, headers, _ = ask_messages(team_b, PARAPHRASES[0], extra_body={"metadata": spoof})
        assert status(headers)[0] == "miss"
        assert status(ask_messages(team_a, PARAPHRASES[0], metadata={"user_id": "alice"})[1])[0] == "hit"
    finally:
        team_a.close()
        team_b.close()
