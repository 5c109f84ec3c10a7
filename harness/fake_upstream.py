"""A local fake LLM provider that counts calls: OpenAI- and Anthropic-compatible.

It is the only fake in the integration tests and benchmarks: the real LiteLLM proxy routes to it
because real providers are out of reach. Every answer names the call that produced it, so a test
can tell a cached answer (an old call number) from a fresh one.

Run: ``python -m harness.fake_upstream --port 8011``; it prints ``READY <port>`` once it listens.

Control endpoints (JSON):
    GET  /_stats    -> {"calls": n, "openai": n, "anthropic": n, "responses": n, "completions": n,
                        "embeddings": n}
                       (``openai``: chat completions, ``anthropic``: Anthropic /v1/messages,
                        ``responses``: OpenAI /v1/responses, ``completions``: OpenAI /v1/completions)
    GET  /_last_keys -> {"<api>": [top-level keys of the last request body]}: what reached the provider
    GET  /_last_bodies -> {"<api>": <the last request body>}
    POST /_reset    -> zero the counters and clear the behaviour
    POST /_control  -> set the behaviour of the following calls, e.g.
                       {"finish_reason": "length", "delay_ms": 50, "content": "fixed text",
                        "tool_call": true, "empty": true, "cut_stream": true, "status": 500, "times": 1}
                       ("times" limits it to the next n calls; without it, it lasts until /_reset)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from typing import Any

from aiohttp import web

from harness.serving import serve


class Upstream:
    """Counters and the behaviour the next calls should have."""

    def __init__(self) -> None:
        self.calls = 0
        self.by_api: dict[str, int] = {
            "openai": 0,
            "anthropic": 0,
            "responses": 0,
            "completions": 0,
            "embeddings": 0,
        }
        self.behaviour: dict[str, Any] = {}
        self.times_left: int | None = None
        self.last_keys: dict[str, list[str]] = {}
        """Top-level keys of the last request body per API (what reached the provider)."""
        self.last_bodies: dict[str, Any] = {}
        """The last request body per API."""

    def take_behaviour(self) -> dict[str, Any]:
        behaviour = dict(self.behaviour)
        if self.times_left is not None:
            self.times_left -= 1
            if self.times_left <= 0:
                self.behaviour, self.times_left = {}, None
        return behaviour


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def _answer(upstream: Upstream, api: str, messages: list[dict[str, Any]], behaviour: dict[str, Any]) -> str:
    if behaviour.get("empty"):
        return ""
    if "content" in behaviour:
        return str(behaviour["content"])
    return f"Answer #{upstream.calls} from {api}: {_last_user_text(messages)[:200]}"


def _pieces(text: str) -> list[str]:
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)]


async def _begin(request: web.Request, api: str) -> tuple[Upstream, dict[str, Any], dict[str, Any]]:
    upstream: Upstream = request.app["upstream"]
    body = await request.json()
    upstream.calls += 1
    upstream.by_api[api] += 1
    upstream.last_keys[api] = sorted(body) if isinstance(body, dict) else []
    upstream.last_bodies[api] = body
    behaviour = upstream.take_behaviour()
    if behaviour.get("delay_ms"):
        await asyncio.sleep(float(behaviour["delay_ms"]) / 1000)
    return upstream, body, behaviour


async def openai_chat(request: web.Request) -> web.StreamResponse:
    upstream, body, behaviour = await _begin(request, "openai")
    if behaviour.get("status"):
        return web.json_response(
            {"error": {"message": "fake upstream failure", "type": "server_error"}},
            status=int(behaviour["status"]),
        )
    text = _answer(upstream, "openai", body.get("messages", []), behaviour)
    finish = behaviour.get("finish_reason", "stop")
    created, cid, model = int(time.time()), f"chatcmpl-{uuid.uuid4().hex}", body.get("model", "fake")
    tool_calls = None
    if behaviour.get("tool_call"):
        finish, text = "tool_calls", ""
        tool_calls = [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "lookup", "arguments": json.dumps({"q": "x"})},
            }
        ]
    words = len(text.split())
    usage = {"prompt_tokens": 10, "completion_tokens": words, "total_tokens": 10 + words}
    if not body.get("stream"):
        message: dict[str, Any] = {"role": "assistant", "content": text or None}
        if tool_calls:
            message["tool_calls"] = tool_calls
        return web.json_response(
            {
                "id": cid,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": usage,
            }
        )
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)

    async def send(delta: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> None:
        chunk = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            **extra,
        }
        await response.write(f"data: {json.dumps(chunk)}\n\n".encode())

    await send({"role": "assistant", "content": ""})
    pieces = _pieces(text) if text else []
    for i, piece in enumerate(pieces):
        if behaviour.get("cut_stream") and i >= max(1, len(pieces) // 2):
            # A provider that dies mid-answer: the connection closes with no finish chunk.
            request.transport.close() if request.transport else None
            return response
        await send({"content": piece})
    if tool_calls:
        await send({"tool_calls": [{"index": 0, **tool_calls[0]}]})
    await send({}, finish)
    if (body.get("stream_options") or {}).get("include_usage"):
        usage_chunk = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
            "usage": usage,
        }
        await response.write(f"data: {json.dumps(usage_chunk)}\n\n".encode())
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


_ANTHROPIC_STOP = {
    "stop": "end_turn",
    "length": "max_tokens",
    "content_filter": "refusal",
    "tool_calls": "tool_use",
}


async def anthropic_messages(request: web.Request) -> web.StreamResponse:
    upstream, body, behaviour = await _begin(request, "anthropic")
    if behaviour.get("status"):
        return web.json_response(
            {"type": "error", "error": {"type": "api_error", "message": "fake upstream failure"}},
            status=int(behaviour["status"]),
        )
    text = _answer(upstream, "anthropic", body.get("messages", []), behaviour)
    stop = _ANTHROPIC_STOP.get(behaviour.get("finish_reason", "stop"), "end_turn")
    mid, model = f"msg_{uuid.uuid4().hex}", body.get("model", "fake")
    tool_use = None
    if behaviour.get("tool_call"):
        stop = "tool_use"
        tool_use = {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "x"}}
    words = len(text.split())
    usage = {"input_tokens": 10, "output_tokens": words}
    if not body.get("stream"):
        content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
        if tool_use:
            content.append(tool_use)
        return web.json_response(
            {
                "id": mid,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": content,
                "stop_reason": stop,
                "stop_sequence": None,
                "usage": usage,
            }
        )
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)

    async def event(name: str, data: dict[str, Any]) -> None:
        await response.write(f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n".encode())

    await event(
        "message_start",
        {
            "message": {
                "id": mid,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 10, "output_tokens": 0},
            }
        },
    )
    await event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
    pieces = _pieces(text) if text else []
    for i, piece in enumerate(pieces):
        if behaviour.get("cut_stream") and i >= max(1, len(pieces) // 2):
            request.transport.close() if request.transport else None
            return response
        await event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": piece}})
    await event("content_block_stop", {"index": 0})
    if tool_use:
        await event("content_block_start", {"index": 1, "content_block": {**tool_use, "input": {}}})
        partial = {"type": "input_json_delta", "partial_json": json.dumps(tool_use["input"])}
        await event("content_block_delta", {"index": 1, "delta": partial})
        await event("content_block_stop", {"index": 1})
    await event(
        "message_delta",
        {"delta": {"stop_reason": stop, "stop_sequence": None}, "usage": {"output_tokens": words}},
    )
    await event("message_stop", {})
    await response.write_eof()
    return response


def _responses_input_text(body: dict[str, Any]) -> str:
    """The last user text of a Responses API ``input`` (a string or a list of items)."""
    items = body.get("input")
    if isinstance(items, str):
        return items
    if not isinstance(items, list):
        return ""
    messages = [
        {
            "role": item.get("role"),
            "content": item.get("content")
            if isinstance(item.get("content"), str)
            else [p for p in item.get("content") or [] if isinstance(p, dict)],
        }
        for item in items
        if isinstance(item, dict)
    ]
    return _last_user_text(messages)


async def openai_responses(request: web.Request) -> web.StreamResponse:
    """OpenAI's Responses API (``/v1/responses``), plain and streamed."""
    upstream, body, behaviour = await _begin(request, "responses")
    if behaviour.get("status"):
        return web.json_response(
            {"error": {"message": "fake upstream failure", "type": "server_error"}},
            status=int(behaviour["status"]),
        )
    question = {"role": "user", "content": _responses_input_text(body)}
    text = _answer(upstream, "responses", [question], behaviour)
    rid, mid, model = f"resp_{uuid.uuid4().hex}", f"msg_{uuid.uuid4().hex}", body.get("model", "fake")
    created = int(time.time())
    words = len(text.split())
    incomplete = behaviour.get("finish_reason") == "length"
    status = "incomplete" if incomplete else "completed"
    part = {"type": "output_text", "text": text, "annotations": []}
    message = {"type": "message", "id": mid, "status": status, "role": "assistant", "content": [part]}
    output: list[dict[str, Any]] = [message] if text else []
    if behaviour.get("tool_call"):
        output = [
            {
                "type": "function_call",
                "id": "fc_1",
                "call_id": "call_1",
                "name": "lookup",
                "arguments": json.dumps({"q": "x"}),
                "status": "completed",
            }
        ]
    usage = {
        "input_tokens": 10,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": words,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 10 + words,
    }

    def envelope(state: str, items: list[dict[str, Any]], with_usage: bool) -> dict[str, Any]:
        return {
            "id": rid,
            "object": "response",
            "created_at": created,
            "status": state,
            "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if state == "incomplete" else None,
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "model": model,
            "output": items,
            "parallel_tool_calls": True,
            "previous_response_id": body.get("previous_response_id"),
            "reasoning": {"effort": None, "summary": None},
            "store": True,
            "temperature": body.get("temperature", 1.0),
            "text": {"format": {"type": "text"}},
            "tool_choice": "auto",
            "tools": body.get("tools") or [],
            "top_p": body.get("top_p", 1.0),
            "truncation": "disabled",
            "usage": usage if with_usage else None,
            "user": None,
            "metadata": {},
        }

    if not body.get("stream"):
        return web.json_response(envelope(status, output, True))
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    sequence = 0

    async def event(name: str, data: dict[str, Any]) -> None:
        nonlocal sequence
        payload = {"type": name, "sequence_number": sequence, **data}
        sequence += 1
        await response.write(f"event: {name}\ndata: {json.dumps(payload)}\n\n".encode())

    await event("response.created", {"response": envelope("in_progress", [], False)})
    await event("response.in_progress", {"response": envelope("in_progress", [], False)})
    if behaviour.get("tool_call"):
        await event("response.output_item.added", {"output_index": 0, "item": output[0]})
        await event("response.output_item.done", {"output_index": 0, "item": output[0]})
    elif text:
        where = {"item_id": mid, "output_index": 0, "content_index": 0}
        started = {**message, "status": "in_progress", "content": []}
        await event("response.output_item.added", {"output_index": 0, "item": started})
        await event("response.content_part.added", {**where, "part": {**part, "text": ""}})
        pieces = _pieces(text)
        for i, piece in enumerate(pieces):
            if behaviour.get("cut_stream") and i >= max(1, len(pieces) // 2):
                request.transport.close() if request.transport else None
                return response
            await event("response.output_text.delta", {**where, "delta": piece, "logprobs": []})
        await event("response.output_text.done", {**where, "text": text, "logprobs": []})
        await event("response.content_part.done", {**where, "part": part})
        await event("response.output_item.done", {"output_index": 0, "item": message})
    final = "response.incomplete" if incomplete else "response.completed"
    await event(final, {"response": envelope(status, output, True)})
    await response.write_eof()
    return response


async def openai_completions(request: web.Request) -> web.Response:
    """OpenAI's legacy text completions (``/v1/completions``), not streamed."""
    upstream, body, behaviour = await _begin(request, "completions")
    prompt = body.get("prompt")
    prompt_text = prompt if isinstance(prompt, str) else " ".join(str(p) for p in prompt or [])
    text = _answer(upstream, "completions", [{"role": "user", "content": prompt_text}], behaviour)
    words = len(text.split())
    return web.json_response(
        {
            "id": f"cmpl-{uuid.uuid4().hex}",
            "object": "text_completion",
            "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [
                {
                    "text": text,
                    "index": 0,
                    "logprobs": None,
                    "finish_reason": behaviour.get("finish_reason", "stop"),
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": words, "total_tokens": 10 + words},
        }
    )


async def stats(request: web.Request) -> web.Response:
    upstream: Upstream = request.app["upstream"]
    return web.json_response({"calls": upstream.calls, **upstream.by_api})


async def last_keys(request: web.Request) -> web.Response:
    upstream: Upstream = request.app["upstream"]
    return web.json_response(upstream.last_keys)


async def last_bodies(request: web.Request) -> web.Response:
    upstream: Upstream = request.app["upstream"]
    return web.json_response(upstream.last_bodies)


async def reset(request: web.Request) -> web.Response:
    upstream: Upstream = request.app["upstream"]
    upstream.calls = 0
    upstream.by_api = {k: 0 for k in upstream.by_api}
    upstream.behaviour, upstream.times_left = {}, None
    upstream.last_keys, upstream.last_bodies = {}, {}
    return web.json_response({"ok": True})


async def control(request: web.Request) -> web.Response:
    upstream: Upstream = request.app["upstream"]
    behaviour = await request.json()
    times = behaviour.pop("times", None)
    upstream.behaviour, upstream.times_left = behaviour, (int(times) if times is not None else None)
    return web.json_response({"ok": True})


def make_app() -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)  # hostile-client tests send megabytes
    app["upstream"] = Upstream()
    app.router.add_post("/v1/chat/completions", openai_chat)
    app.router.add_post("/chat/completions", openai_chat)
    app.router.add_post("/v1/messages", anthropic_messages)
    app.router.add_post("/v1/responses", openai_responses)
    app.router.add_post("/responses", openai_responses)
    app.router.add_post("/v1/completions", openai_completions)
    app.router.add_post("/completions", openai_completions)
    app.router.add_get("/_stats", stats)
    app.router.add_get("/_last_keys", last_keys)
    app.router.add_get("/_last_bodies", last_bodies)
    app.router.add_post("/_reset", reset)
    app.router.add_post("/_control", control)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    serve(make_app(), args.host, args.port)


if __name__ == "__main__":
    main()
