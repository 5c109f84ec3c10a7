"""What LiteLLM hands the cache backend: request kwargs and the stored-completion value."""

from __future__ import annotations

import json
from typing import Any


def chat(text: str, *, model: str = "gpt-4o-mini", group: str = "gpt-a", **kwargs: Any) -> dict[str, Any]:
    """Completion kwargs for one user message, with the proxy's model-group metadata."""
    metadata = {"model_group": group, **kwargs.pop("metadata", {})}
    return {"model": model, "messages": [{"role": "user", "content": text}], "metadata": metadata, **kwargs}


def completion(
    text: str,
    *,
    model: str = "gpt-4o-mini",
    finish_reason: str = "stop",
    prompt_tokens: int = 9,
    completion_tokens: int | None = None,
) -> dict[str, Any]:
    """The value LiteLLM asks the cache to store: ``{"timestamp", "response": <completion JSON>}``."""
    completion_tokens = len(text.split()) if completion_tokens is None else completion_tokens
    response = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [
            {"index": 0, "finish_reason": finish_reason, "message": {"role": "assistant", "content": text}}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }
    return {"timestamp": 0.0, "response": json.dumps(response)}


def answer_text(cached: Any) -> str:
    """The answer text of what the backend returned."""
    return str(json.loads(cached["response"])["choices"][0]["message"]["content"])
