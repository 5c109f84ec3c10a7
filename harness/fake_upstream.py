"""A local fake LLM provider that counts calls: OpenAI- and Anthropic-compatible.

It is the only fake in the integration tests and benchmarks: the real LiteLLM proxy routes to it
because real providers are out of reach. Every answer names the call that produced it, so a test
can tell a cached answer (an old call number) from a fresh one.

Run: ``python -m harness.fake_upstream --port 8011``; it prints ``READY <port>`` once it listens.

Control endpoints (JSON):
    GET  /_stats    -> {"calls": n, "openai": n, "anthropic": n, "embeddings": n}
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
        self.by_api: dict[str, int] = {"openai": 0, "anthropic": 0, "embeddings": 0}
        self.behaviour: dict[str, Any] = {}
        self.times_left: int | None = None

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
    words = len(text.split())
    usage = {"input_tokens": 10, "output_tokens": words}
    if not body.get("stream"):
        return web.json_response(
            {
                "id": mid,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{"type": "text", "text": text}] if text else [],
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
    await event(
        "message_delta",
        {"delta": {"stop_reason": stop, "stop_sequence": None}, "usage": {"output_tokens": words}},
    )
    await event("message_stop", {})
    await response.write_eof()
    return response


async def stats(request: web.Request) -> web.Response:
    upstream: Upstream = request.app["upstream"]
    return web.json_response({"calls": upstream.calls, **upstream.by_api})


async def reset(request: web.Request) -> web.Response:
    upstream: Upstream = request.app["upstream"]
    upstream.calls = 0
    upstream.by_api = {k: 0 for k in upstream.by_api}
    upstream.behaviour, upstream.times_left = {}, None
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
    app.router.add_get("/_stats", stats)
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
