"""Each API format reads its requests and answers and renders hits, on pinned examples of its wire JSON.

The examples are what the APIs send and answer (Anthropic Messages, OpenAI Responses, text completions),
trimmed to the fields that matter; the streams are the events as the official SDKs read them.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from litellm_semcache.formats import format_of_response, get_format, stored_answer
from litellm_semcache.formats.anthropic_messages import assemble_message
from litellm_semcache.formats.base import pieces, sse_data
from litellm_semcache.integrations.litellm.adapter import STREAM_EVENTS_KEY, _for_litellm, _read_answer
from litellm_semcache.integrations.litellm.controls import parse_control_header
from litellm_semcache.integrations.litellm.requests import (
    format_name_of,
    identity_of,
    metadata_holder,
    request_metadata,
)
from litellm_semcache.pipeline import Prepared, prepare
from litellm_semcache.settings import SemCacheSettings
from litellm_semcache.store import StoredEntry
from litellm_semcache.store.codec import ENTRY_FIELDS, decode_entry, encode_entry
from litellm_semcache.types import Answer, ParsedQuery, Refusal, Skip

SETTINGS = SemCacheSettings()

# --- pinned wire JSON ----------------------------------------------------------------------------------
ANTHROPIC_MESSAGE: dict[str, Any] = {
    "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
    "type": "message",
    "role": "assistant",
    "model": "claude-3-5-haiku-20241022",
    "content": [{"type": "text", "text": "Paris is the capital of France."}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 14,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 2,
        "output_tokens": 9,
    },
}
#: The events of that answer, streamed (Anthropic's documented shape, several text deltas).
ANTHROPIC_STREAM: list[str] = [
    'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL",'
    '"type":"message","role":"assistant","model":"claude-3-5-haiku-20241022","content":[],"stop_reason":null,'
    '"stop_sequence":null,"usage":{"input_tokens":14,"output_tokens":1}}}\n\n',
    'event: content_block_start\ndata: {"type":"content_block_start","index":0,'
    '"content_block":{"type":"text","text":""}}\n\n',
    'event: ping\ndata: {"type": "ping"}\n\n',
    'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
    '"delta":{"type":"text_delta","text":"Paris is the"}}\n\n',
    'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
    '"delta":{"type":"text_delta","text":" capital of France."}}\n\n',
    'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n',
    'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn",'
    '"stop_sequence":null},"usage":{"output_tokens":9}}\n\n',
    'event: message_stop\ndata: {"type":"message_stop"}\n\n',
]
RESPONSE: dict[str, Any] = {
    "id": "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b",
    "object": "response",
    "created_at": 1741476542,
    "status": "completed",
    "error": None,
    "incomplete_details": None,
    "instructions": None,
    "max_output_tokens": None,
    "model": "gpt-4o-mini-2024-07-18",
    "output": [
        {
            "type": "message",
            "id": "msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b",
            "status": "completed",
            "role": "assistant",
            "content": [
                {"type": "output_text", "text": "Paris is the capital of France.", "annotations": []}
            ],
        }
    ],
    "parallel_tool_calls": True,
    "previous_response_id": None,
    "reasoning": {"effort": None, "summary": None},
    "store": True,
    "temperature": 1.0,
    "text": {"format": {"type": "text"}},
    "tool_choice": "auto",
    "tools": [],
    "top_p": 1.0,
    "truncation": "disabled",
    "usage": {
        "input_tokens": 36,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 9,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 45,
    },
    "user": None,
    "metadata": {},
}
TEXT_COMPLETION: dict[str, Any] = {
    "id": "cmpl-uqkvlQyYK7bGYrRHQ0eXlWi7",
    "object": "text_completion",
    "created": 1589478378,
    "model": "gpt-3.5-turbo-instruct",
    "choices": [{"text": " Paris.", "index": 0, "logprobs": None, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
}
CHAT_COMPLETION: dict[str, Any] = {
    "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
    "object": "chat.completion",
    "created": 1741569952,
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Paris is the capital of France."},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 19, "completion_tokens": 9, "total_tokens": 28},
}
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def parse(format_name: str, body: dict[str, Any], **settings: Any) -> ParsedQuery | Skip:
    return get_format(format_name).parse(body, SemCacheSettings(**settings))


def parsed(format_name: str, body: dict[str, Any], **settings: Any) -> ParsedQuery:
    result = parse(format_name, body, **settings)
    assert isinstance(result, ParsedQuery), result
    return result


def answer(format_name: str, response: object, **settings: Any) -> Answer:
    result = get_format(format_name).read_answer(response, SemCacheSettings(**settings))
    assert isinstance(result, Answer), result
    return result


def refusal(format_name: str, response: object, **settings: Any) -> str:
    result = get_format(format_name).read_answer(response, SemCacheSettings(**settings))
    assert isinstance(result, Refusal), result
    return result.text


def scope_of(format_name: str, body: dict[str, Any]) -> str:
    prepared = prepare(get_format(format_name), body, SETTINGS)
    assert isinstance(prepared, Prepared), prepared
    return prepared.scope.key


def messages(*turns: tuple[str, Any], **body: Any) -> dict[str, Any]:
    return {
        "model": "claude-b",
        "max_tokens": 1024,
        "messages": [{"role": r, "content": c} for r, c in turns],
        **body,
    }


# --- one conversation, three APIs, one scope -----------------------------------------------------------
CHAT_CONVERSATION = {
    "model": "gpt-a",
    "messages": [
        {"role": "system", "content": "You answer in one sentence."},
        {"role": "user", "content": "Tell me about the Eiffel Tower."},
        {"role": "assistant", "content": "It is an iron tower in Paris."},
        {"role": "user", "content": "How tall is it?"},
    ],
}
MESSAGES_CONVERSATION = messages(
    ("user", "Tell me about the Eiffel Tower."),
    ("assistant", [{"type": "text", "text": "It is an iron tower in Paris."}]),
    ("user", [{"type": "text", "text": "How tall is it?", "cache_control": {"type": "ephemeral"}}]),
    system=[{"type": "text", "text": "You answer in one sentence."}],
)
RESPONSES_CONVERSATION = {
    "model": "gpt-a",
    "instructions": "You answer in one sentence.",
    "input": [
        {"role": "user", "content": "Tell me about the Eiffel Tower."},
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "It is an iron tower in Paris."}],
        },
        {"role": "user", "content": [{"type": "input_text", "text": "How tall is it?"}]},
    ],
}


def test_one_conversation_has_one_scope_through_chat_messages_and_responses() -> None:
    scopes = {
        scope_of("chat", CHAT_CONVERSATION),
        scope_of("anthropic_messages", MESSAGES_CONVERSATION),
        scope_of("responses", RESPONSES_CONVERSATION),
    }
    assert len(scopes) == 1
    for name, body in (("anthropic_messages", MESSAGES_CONVERSATION), ("responses", RESPONSES_CONVERSATION)):
        query = parsed(name, body)
        assert query.query == "How tall is it?" and query.traits.earlier_turns == 2


def test_another_history_or_system_prompt_is_another_scope_in_every_api() -> None:
    other_history = json.loads(json.dumps(MESSAGES_CONVERSATION))
    other_history["messages"][0]["content"] = "Tell me about the Statue of Liberty."
    other_system = {**RESPONSES_CONVERSATION, "instructions": "You answer like a pirate."}
    base = scope_of("chat", CHAT_CONVERSATION)
    assert scope_of("anthropic_messages", other_history) != base
    assert scope_of("responses", other_system) != base


def test_a_text_completion_never_shares_a_scope_with_a_question() -> None:
    prompt = {"model": "gpt-a", "prompt": "What is the capital of France?"}
    question = {"model": "gpt-a", "messages": [{"role": "user", "content": "What is the capital of France?"}]}
    assert scope_of("text_completion", prompt) != scope_of("chat", question)


# --- Anthropic Messages: requests ----------------------------------------------------------------------
def test_messages_requests_are_read_like_chat() -> None:
    query = parsed(
        "anthropic_messages",
        messages(("user", "What is the capital of France?"), system="Be brief.", stop_sequences=["\n\n"]),
    )
    assert query.query == "What is the capital of France?"
    assert query.context[0] == ["system", ["Be brief."]]
    assert query.params["stop"] == ["\n\n"]  # chat's `stop`: the same stops, the same scope
    assert query.max_answer_tokens == 1024


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            messages(
                (
                    "user",
                    [
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/png", "data": PNG},
                        },
                        {"type": "text", "text": "What is in this image?"},
                    ],
                )
            ),
            "non_text_content",
        ),
        (
            messages(
                (
                    "user",
                    [
                        {
                            "type": "document",
                            "source": {"type": "text", "media_type": "text/plain", "data": "x"},
                        },
                        {"type": "text", "text": "Summarise this."},
                    ],
                )
            ),
            "non_text_content",
        ),
        (
            messages(
                ("user", "Weather in Paris?"),
                ("assistant", [{"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {}}]),
                ("user", [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "12C"}]),
            ),
            "non_text_content",
        ),
        (
            messages(("user", "Weather in Paris?"), tools=[{"name": "weather", "input_schema": {}}]),
            "tools",
        ),
        (
            messages(
                ("user", "Weather in Paris?"),
                mcp_servers=[{"type": "url", "url": "https://x", "name": "x"}],
            ),
            "tools",
        ),
        (messages(("user", "Write a poem."), ("assistant", "Roses are")), "last_message_not_user"),
        (messages(("user", "Hi"), system=[{"type": "image", "source": {}}]), "non_text_content"),
        ({"model": "claude-b", "max_tokens": 10, "messages": []}, "no_messages"),
    ],
)
def test_messages_requests_the_cache_stays_out_of(body: dict[str, Any], reason: str) -> None:
    prepared = prepare(get_format("anthropic_messages"), body, SETTINGS)
    assert not isinstance(prepared, Prepared) and prepared.reason == reason


def test_messages_sampling_goes_to_the_envelope() -> None:
    query = parsed("anthropic_messages", messages(("user", "Hi there"), temperature=0.2, top_k=40))
    assert query.traits.sampling == {"temperature": 0.2, "top_k": 40.0}
    assert query.traits.temperature == 0.2


# --- Anthropic Messages: answers -----------------------------------------------------------------------
def test_a_messages_answer_is_read_with_its_tokens() -> None:
    read = answer("anthropic_messages", ANTHROPIC_MESSAGE)
    assert read.text == "Paris is the capital of France."
    assert (read.prompt_tokens, read.completion_tokens, read.finish) == (16, 9, "stop")
    assert read.format == "anthropic_messages" and json.loads(read.native) == ANTHROPIC_MESSAGE


def test_a_streamed_messages_answer_is_read_from_its_events() -> None:
    assembled = assemble_message(ANTHROPIC_STREAM)
    assert assembled is not None and assembled["content"] == ANTHROPIC_MESSAGE["content"]
    read = answer("anthropic_messages", ANTHROPIC_STREAM)
    assert read.text == "Paris is the capital of France." and read.completion_tokens == 9


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"stop_reason": "max_tokens"}, "finish_reason:max_tokens"),
        ({"stop_reason": "refusal"}, "finish_reason:refusal"),
        ({"stop_reason": "pause_turn"}, "finish_reason:pause_turn"),
        (
            {
                "stop_reason": "tool_use",
                "content": [
                    {"type": "text", "text": "Let me look."},
                    {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {}},
                ],
            },
            "tool_calls",
        ),
        ({"content": [{"type": "text", "text": "  "}]}, "empty_answer"),
        ({"content": [{"type": "web_search_tool_result", "content": []}]}, "non_text_answer"),
        ({"type": "error", "error": {"type": "overloaded_error"}}, "error_response"),
    ],
)
def test_incomplete_messages_answers_are_never_stored(change: dict[str, Any], reason: str) -> None:
    assert refusal("anthropic_messages", {**ANTHROPIC_MESSAGE, **change}) == reason


def test_a_stream_cut_before_message_stop_is_never_stored() -> None:
    assert refusal("anthropic_messages", ANTHROPIC_STREAM[:5]) == "finish_reason:incomplete_stream"


def test_a_stop_sequence_answer_is_complete() -> None:
    read = answer("anthropic_messages", {**ANTHROPIC_MESSAGE, "stop_reason": "stop_sequence"})
    assert read.finish == "stop_sequence"


# --- OpenAI Responses: requests ------------------------------------------------------------------------
def test_a_responses_string_input_is_one_user_message() -> None:
    query = parsed("responses", {"model": "gpt-a", "input": "What is the capital of France?"})
    assert query.query == "What is the capital of France?" and query.traits.earlier_turns == 0
    assert scope_of("responses", {"model": "gpt-a", "input": "x"}) == scope_of(
        "chat", {"model": "gpt-a", "messages": [{"role": "user", "content": "y"}]}
    )


def test_previous_response_id_is_part_of_the_exact_context() -> None:
    first = {"model": "gpt-a", "input": "How tall is it?", "previous_response_id": "resp_eiffel"}
    other = {**first, "previous_response_id": "resp_liberty"}
    fresh = {"model": "gpt-a", "input": "How tall is it?"}
    assert (
        len({scope_of("responses", first), scope_of("responses", other), scope_of("responses", fresh)}) == 3
    )
    assert scope_of("responses", first) == scope_of("responses", dict(first))
    query = parsed("responses", first)
    assert query.traits.earlier_turns == 1  # a continued conversation, for `single_turn`


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            {
                "input": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}"},
                            {"type": "input_text", "text": "What is in this image?"},
                        ],
                    }
                ]
            },
            "non_text_content",
        ),
        (
            {
                "input": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "input_file", "file_id": "file-1"},
                            {"type": "input_text", "text": "Summarise."},
                        ],
                    }
                ]
            },
            "non_text_content",
        ),
        (
            {
                "input": [
                    {"role": "user", "content": "Weather in Paris?"},
                    {"type": "function_call", "call_id": "call_1", "name": "weather", "arguments": "{}"},
                    {"type": "function_call_output", "call_id": "call_1", "output": "12C"},
                    {"role": "user", "content": "And tomorrow?"},
                ]
            },
            "non_text_content",
        ),
        (
            {
                "input": "Weather in Paris?",
                "tools": [{"type": "function", "name": "weather", "parameters": {}}],
            },
            "tools",
        ),
        ({"input": "Weather in Paris?", "tools": [{"type": "web_search"}]}, "tools"),
        ({"input": "Hi", "include": ["message.output_text.logprobs"]}, "logprobs"),
        ({"input": [{"role": "assistant", "content": "Hello"}]}, "last_message_not_user"),
        ({"input": []}, "no_messages"),
    ],
)
def test_responses_requests_the_cache_stays_out_of(body: dict[str, Any], reason: str) -> None:
    prepared = prepare(get_format("responses"), {"model": "gpt-a", **body}, SETTINGS)
    assert not isinstance(prepared, Prepared) and prepared.reason == reason


def test_responses_output_formats_and_reasoning_are_scoped() -> None:
    plain = {"model": "gpt-a", "input": "List three colours."}
    as_text = {**plain, "text": {"format": {"type": "text"}}}
    as_json = {**plain, "text": {"format": {"type": "json_object"}}}
    effort = {**plain, "reasoning": {"effort": "high"}}
    assert scope_of("responses", plain) == scope_of("responses", as_text)
    assert scope_of("responses", plain) != scope_of("responses", as_json)
    chat_effort = {
        "model": "gpt-a",
        "messages": [{"role": "user", "content": "x"}],
        "reasoning_effort": "high",
    }
    assert scope_of("responses", effort) == scope_of("chat", chat_effort)
    assert parsed("responses", {**plain, "max_output_tokens": 50}).max_answer_tokens == 50


# --- OpenAI Responses: answers -------------------------------------------------------------------------
def test_a_completed_response_is_read_with_its_tokens() -> None:
    read = answer("responses", RESPONSE)
    assert read.text == "Paris is the capital of France."
    assert (read.prompt_tokens, read.completion_tokens, read.format) == (36, 9, "responses")


def test_reasoning_items_are_kept_but_not_part_of_the_text() -> None:
    reasoning = {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAA"}
    read = answer("responses", {**RESPONSE, "output": [reasoning, *RESPONSE["output"]]})
    assert read.text == "Paris is the capital of France."


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            {"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}},
            "finish_reason:incomplete",
        ),
        ({"status": "failed", "error": {"code": "server_error", "message": "x"}}, "error_response"),
        (
            {
                "output": [
                    {
                        "type": "function_call",
                        "id": "fc_1",
                        "call_id": "call_1",
                        "name": "weather",
                        "arguments": "{}",
                        "status": "completed",
                    }
                ]
            },
            "tool_calls",
        ),
        ({"output": [{"type": "web_search_call", "id": "ws_1", "status": "completed"}]}, "tool_calls"),
        (
            {
                "output": [
                    {
                        **RESPONSE["output"][0],
                        "content": [{"type": "refusal", "refusal": "I can't help with that."}],
                    }
                ]
            },
            "refusal",
        ),
        ({"output": []}, "not_one_choice"),
    ],
)
def test_incomplete_responses_are_never_stored(change: dict[str, Any], reason: str) -> None:
    assert refusal("responses", {**RESPONSE, **change}) == reason


# --- text completions ----------------------------------------------------------------------------------
def test_text_completions_are_read_and_rendered() -> None:
    query = parsed(
        "text_completion", {"model": "gpt-a", "prompt": ["The capital of France is"], "max_tokens": 5}
    )
    assert query.query == "The capital of France is" and query.max_answer_tokens == 5
    read = answer("text_completion", TEXT_COMPLETION)
    assert (read.text, read.prompt_tokens, read.completion_tokens) == (" Paris.", 5, 2)
    assert refusal(
        "text_completion", {**TEXT_COMPLETION, "choices": [{"text": " Pa", "finish_reason": "length"}]}
    )
    assert get_format("text_completion").render(read) == TEXT_COMPLETION


@pytest.mark.parametrize(
    ("prompt", "reason"),
    [(["a", "b"], "n_not_1"), ([1, 2, 3], "non_text_content"), ("  ", "empty_query")],
)
def test_text_completions_the_cache_stays_out_of(prompt: Any, reason: str) -> None:
    result = parse("text_completion", {"model": "gpt-a", "prompt": prompt})
    assert isinstance(result, Skip) and result.reason == reason
    assert isinstance(parsed("text_completion", {"model": "gpt-a", "prompt": "x", "n": 2}), ParsedQuery)


# --- one answer, every API ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("origin", "response"),
    [
        ("chat", CHAT_COMPLETION),
        ("anthropic_messages", ANTHROPIC_MESSAGE),
        ("responses", RESPONSE),
        ("text_completion", TEXT_COMPLETION),
    ],
)
def test_an_answer_renders_unchanged_in_its_own_api_and_from_neutral_fields_in_the_others(
    origin: str, response: dict[str, Any]
) -> None:
    read = answer(origin, response)
    assert get_format(origin).render(read) == response
    chat = get_format("chat").render(read)
    assert chat["choices"][0]["message"]["content"] == read.text or origin == "chat"
    message = get_format("anthropic_messages").render(read)
    assert message["type"] == "message" and message["content"] == [{"type": "text", "text": read.text}]
    assert message["usage"]["output_tokens"] == read.completion_tokens or origin == "anthropic_messages"
    created = get_format("responses").render(read)
    assert created["object"] == "response" and created["status"] == "completed"
    assert created["output"][0]["content"][0]["text"] == read.text
    for name in ("chat", "anthropic_messages", "responses", "text_completion"):
        rendered = get_format(name).render(read)
        assert format_of_response(rendered) is get_format(name)
        again = get_format(name).read_answer(rendered, SETTINGS)
        assert isinstance(again, Answer) and again.text == read.text


def test_a_rendered_messages_stream_adds_up_to_the_message() -> None:
    read = answer("responses", RESPONSE)
    events = get_format("anthropic_messages").render_stream(read)
    kinds = [data["type"] for data in sse_data(events)]
    assert kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"]
    assert kinds.count("content_block_delta") == len(pieces(read.text)) > 1
    assert assemble_message(events) == get_format("anthropic_messages").render(read)
    assert all(e.startswith("event: ") and e.endswith("\n\n") for e in events)


def test_a_rendered_responses_stream_ends_with_the_completed_response() -> None:
    read = answer("anthropic_messages", ANTHROPIC_MESSAGE)
    events = sse_data(get_format("responses").render_stream(read))
    assert [e["type"] for e in events[:2]] == ["response.created", "response.in_progress"]
    deltas = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert deltas == read.text
    assert events[-1]["type"] == "response.completed"
    assert events[-1]["response"] == get_format("responses").render(read)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))


@pytest.mark.parametrize("name", ["chat", "text_completion"])
def test_rendered_chunk_streams_carry_the_text_and_end_with_done(name: str) -> None:
    read = answer("anthropic_messages", ANTHROPIC_MESSAGE)
    events = get_format(name).render_stream(read)
    assert events[-1] == "data: [DONE]\n\n"
    chunks = sse_data(events)
    key = "delta" if name == "chat" else None
    text = "".join(
        (c["choices"][0]["delta"].get("content") or "") if key else c["choices"][0]["text"] for c in chunks
    )
    assert text == read.text and chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_pieces_give_the_text_back() -> None:
    for text in ["Paris.", "  leading and trailing  ", "a\n\nb  c", "", "   "]:
        assert "".join(pieces(text)) == text


# --- what LiteLLM is handed ------------------------------------------------------------------------------
def test_litellm_gets_a_messages_stream_as_events_and_a_text_stream_as_a_chat_completion() -> None:
    read = answer("chat", CHAT_COMPLETION)
    stream = _for_litellm(get_format("anthropic_messages"), read, stream=True)
    assert list(stream) == [STREAM_EVENTS_KEY] and assemble_message(stream[STREAM_EVENTS_KEY])
    assert _for_litellm(get_format("anthropic_messages"), read, stream=False)["type"] == "message"
    assert "message" in _for_litellm(get_format("text_completion"), read, stream=True)["choices"][0]
    assert "text" in _for_litellm(get_format("text_completion"), read, stream=False)["choices"][0]
    assert _for_litellm(get_format("responses"), read, stream=True)["object"] == "response"


def test_what_litellm_stores_is_read_by_the_format_whose_answer_it_is() -> None:
    events = {STREAM_EVENTS_KEY: ANTHROPIC_STREAM}
    for payload, origin in [
        (json.dumps(CHAT_COMPLETION), "chat"),
        (ANTHROPIC_MESSAGE, "anthropic_messages"),
        (json.dumps(RESPONSE), "responses"),
        (json.dumps(TEXT_COMPLETION), "text_completion"),
        (events, "anthropic_messages"),
    ]:
        read = _read_answer(payload, SETTINGS)
        assert isinstance(read, Answer) and read.format == origin
    assert _read_answer({"something": "else"}, SETTINGS) is None
    assert _read_answer("not json", SETTINGS) is None


# --- entries --------------------------------------------------------------------------------------------
def _entry(**fields: Any) -> StoredEntry:
    base: dict[str, Any] = {
        "id": "e1",
        "query": "What is the capital of France?",
        "response": json.dumps(CHAT_COMPLETION),
        "answer_id": "a1",
        "model": "gpt-4o-mini",
        "model_group": "gpt-a",
        "namespace": "default",
        "tenant": "anonymous",
        "scope": "s",
        "created_at": 1700000000.0,
        "completion_tokens": 9,
    }
    return StoredEntry(**{**base, **fields})


def test_entries_keep_the_neutral_answer_and_older_entries_still_serve_every_api() -> None:
    read = answer("anthropic_messages", ANTHROPIC_MESSAGE)
    entry = _entry(
        response=read.native,
        answer_text=read.text,
        finish=read.finish,
        prompt_tokens=read.prompt_tokens,
        format=read.format,
    )
    fields = encode_entry(entry, None, float)  # type: ignore[arg-type]
    decoded = decode_entry("e1", [fields.get(name) for name in ENTRY_FIELDS])
    assert decoded == entry
    neutral = stored_answer(entry, SETTINGS)
    assert neutral is not None and neutral.text == read.text and neutral.format == "anthropic_messages"
    assert json.loads(entry.usage_json) == {"usage": {"prompt_tokens": 16, "completion_tokens": 9}}

    legacy = _entry()  # written before formats shared entries: a chat completion, no neutral fields
    fields = {k: v for k, v in encode_entry(legacy, None, float).items()}  # type: ignore[arg-type]
    decoded = decode_entry("e1", [fields.get(name) for name in ENTRY_FIELDS])
    assert decoded is not None and decoded.answer_text is None and decoded.format is None
    old = stored_answer(decoded, SETTINGS)
    assert old is not None and old.text == "Paris is the capital of France." and old.format == "chat"
    assert get_format("chat").render(old) == CHAT_COMPLETION
    assert get_format("anthropic_messages").render(old)["content"][0]["text"] == old.text
    assert legacy.usage_json == legacy.response


def test_a_rendered_hit_says_when_the_answer_was_stored() -> None:
    read = replace(answer("chat", CHAT_COMPLETION), created_at=1700000000.0)
    assert get_format("responses").render(read)["created_at"] == 1700000000
    assert get_format("anthropic_messages").render(read)["id"] == f"msg_{read.answer_id}"


# --- LiteLLM's kwargs ------------------------------------------------------------------------------------
class _Logging:
    def __init__(self, call_type: str) -> None:
        self.call_type = call_type


def test_the_format_comes_from_the_call_type_or_the_body() -> None:
    body = messages(("user", "Hi"))
    assert format_name_of(body, "anthropic_messages") == "anthropic_messages"
    assert format_name_of({**body, "litellm_logging_obj": _Logging("aanthropic_messages")}) == (
        "anthropic_messages"
    )
    assert format_name_of(body) == "chat"
    # A call LiteLLM makes inside /v1/messages (to the Responses API) keeps the outer call type.
    inner = {"input": "Hi", "litellm_logging_obj": _Logging("anthropic_messages")}
    assert format_name_of(inner) == "responses"
    assert format_name_of({"prompt": "Hi"}) == "text_completion"
    assert format_name_of({"model": "x"}) is None


def test_api_metadata_is_neither_written_nor_trusted() -> None:
    # On /v1/messages and /v1/responses `metadata` is the API's own field, chosen by the client.
    spoofed = {
        "metadata": {"user_api_key_team_id": "victim-team", "user_id": "u1"},
        "litellm_metadata": {"user_api_key_team_id": "my-team", "model_group": "claude-b"},
    }
    assert identity_of(spoofed).team == "my-team"
    assert request_metadata({"metadata": spoofed["metadata"], "litellm_metadata": {}}) == {}
    assert metadata_holder(spoofed) is spoofed["litellm_metadata"]
    sdk_call = {"metadata": {"user_id": "u1"}, "litellm_logging_obj": _Logging("anthropic_messages")}
    assert metadata_holder(sdk_call) is None and identity_of(sdk_call).team is None
    chat = {"metadata": {"user_api_key_team_id": "t"}}
    assert metadata_holder(chat) is chat["metadata"] and identity_of(chat).team == "t"


def test_the_control_header_carries_the_cache_field() -> None:
    assert parse_control_header("no-store, ttl=600, namespace=support, similarity-threshold=0.9") == {
        "no-store": True,
        "ttl": 600,
        "namespace": "support",
        "similarity-threshold": 0.9,
    }
    assert parse_control_header("no-cache=false, s-maxage=60") == {"no-cache": False, "s-maxage": 60}
    for bad, named in [
        ("ttl=abc", "x-semcache-control.ttl"),
        ("ttl=0", "x-semcache-control.ttl"),
        ("similarity-threshold=2", "similarity-threshold"),
        ("no-store=maybe", "no-store"),
        ("teleport", "teleport"),
        ("namespace=", "namespace"),
    ]:
        with pytest.raises(ValueError, match=named):
            parse_control_header(bad)


# --- follow-ups to cached Responses answers --------------------------------------------------------------
def test_a_follow_up_to_a_cached_response_spells_out_its_history() -> None:
    from litellm_semcache.formats.responses import CACHED_RESPONSE_PREFIX
    from litellm_semcache.integrations.litellm.continuations import (
        ADDRESSED_ID_FIELD,
        cached_response_id,
        expand_follow_up,
        hit_record,
    )
    from litellm_semcache.scope import tenant_of

    team_a = {"litellm_metadata": {"user_api_key_team_id": "team-a"}}
    tenant = tenant_of(identity_of(team_a), SETTINGS)
    asked = {"model": "gpt-a", "input": "Tell me about the Eiffel Tower.", **team_a}
    record = hit_record(asked, "It is an iron tower in Paris.", tenant)
    cached_id = f"{CACHED_RESPONSE_PREFIX}0123"

    def refuse(_: str) -> str:
        raise AssertionError("no continued id to authorize")

    follow_up: dict[str, Any] = {
        "model": "gpt-a",
        "input": "How tall is it?",
        "previous_response_id": cached_id,
        **team_a,
    }
    assert cached_response_id(follow_up) == cached_id
    assert cached_response_id({"previous_response_id": "resp_abc"}) is None
    assert expand_follow_up(follow_up, record, SETTINGS, refuse)
    assert "previous_response_id" not in follow_up
    assert follow_up["input"] == [
        {"role": "user", "content": "Tell me about the Eiffel Tower."},
        {"role": "assistant", "content": "It is an iron tower in Paris."},
        {"role": "user", "content": "How tall is it?"},
    ]
    # the expanded follow-up is an ordinary conversation: its scope is the explicit history
    assert scope_of("responses", follow_up) == scope_of(
        "chat",
        {
            "model": "gpt-a",
            "messages": [*follow_up["input"][:2], {"role": "user", "content": "Anything"}],
            "metadata": {"user_api_key_team_id": "team-a"},
        },
    )

    # another tenant, or no record: not continued
    team_b = {"litellm_metadata": {"user_api_key_team_id": "team-b"}}
    assert not expand_follow_up({**follow_up, **team_b}, record, SETTINGS, refuse)
    assert not expand_follow_up(dict(follow_up), None, SETTINGS, refuse)

    # a hit that itself continued a provider response: the follow-up continues that one
    chained_asked = {**asked, "previous_response_id": "resp_plain", ADDRESSED_ID_FIELD: "resp_ENCRYPTED"}
    chained = hit_record(chained_asked, "It is an iron tower in Paris.", tenant)
    assert chained["previous_response_id"] == "resp_ENCRYPTED"  # the client-facing form
    later = {"input": "How tall is it?", "previous_response_id": cached_id, **team_a}
    assert expand_follow_up(later, chained, SETTINGS, refuse)
    assert later["previous_response_id"] == "resp_ENCRYPTED"  # LiteLLM's id check runs next
    already_checked = {**later, "previous_response_id": cached_id, ADDRESSED_ID_FIELD: "resp_X"}
    assert expand_follow_up(already_checked, chained, SETTINGS, lambda i: f"decrypted:{i}")
    assert already_checked["previous_response_id"] == "decrypted:resp_ENCRYPTED"
    assert already_checked[ADDRESSED_ID_FIELD] == "resp_ENCRYPTED"


def test_requests_in_a_provider_side_conversation_are_not_cached() -> None:
    result = parse("responses", {"model": "gpt-a", "input": "Hi", "conversation": "conv_123"})
    assert isinstance(result, Skip) and result.reason == "server_state"
