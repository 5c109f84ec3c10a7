"""OpenAI text completions (``/v1/completions``): a prompt the model continues.

The prompt is embedded and compared by meaning. A prompt is text to continue, not a question to answer
("The capital of France is" is completed, "What is the capital of France?" may be too), so text
completions share entries only with each other: their context says so, and their entries never serve
chat, Messages or Responses requests (or the reverse). Several prompts in one request, token-id
prompts, ``n`` > 1, ``logprobs`` and ``best_of`` keep a request out; ``suffix`` and ``echo`` shape the
answer and are scoped. Only complete answers are stored: one choice, finish reason ``stop``, non-empty
text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..settings import SemCacheSettings
from ..types import Answer, ParsedQuery, Refusal, Skip, Traits
from .base import (
    answer_of,
    as_mapping,
    created_of,
    native_of,
    number,
    openai_usage,
    pieces,
    positive_int,
    sampling_of,
    scoped_params,
    sse_event,
)

__all__ = ["TextCompletionFormat"]

_COMPLETE_FINISH_REASONS = frozenset({"stop", "eos"})
#: The context of every text completion: they share a scope with each other only.
_CONTEXT = (["text_completion"],)
_OWN_PARAMS = ("suffix", "echo")


def _prompt(body: Mapping[str, Any]) -> str | list[Any] | None:
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        return prompt[0]
    return prompt if isinstance(prompt, (str, list)) else None


def _traits(body: Mapping[str, Any], settings: SemCacheSettings) -> Traits:
    n, best_of = body.get("n"), body.get("best_of")
    choices = max(
        n if isinstance(n, int) and not isinstance(n, bool) else 1,
        best_of if isinstance(best_of, int) and not isinstance(best_of, bool) else 1,
    )
    return Traits(
        choices=choices,
        logprobs=body.get("logprobs") is not None,
        temperature=number(body.get("temperature")),
        sampling=sampling_of(body, settings),
        mock_response=body.get("mock_response") is not None,
    )


def completion_of(answer: Answer) -> dict[str, Any]:
    """A ``text_completion`` built from an answer's neutral fields."""
    return {
        "id": f"cmpl-{answer.answer_id}",
        "object": "text_completion",
        "created": created_of(answer),
        "model": answer.model,
        "choices": [{"text": answer.text, "index": 0, "logprobs": None, "finish_reason": "stop"}],
        "usage": openai_usage(answer),
    }


class TextCompletionFormat:
    """Text completion requests and ``text_completion`` responses."""

    name = "text_completion"

    def size(self, body: Mapping[str, Any]) -> int:
        """Characters of the prompt(s)."""
        prompt = body.get("prompt")
        if isinstance(prompt, str):
            return len(prompt)
        if isinstance(prompt, list):
            return sum(len(p) for p in prompt if isinstance(p, str))
        return 0

    def accepts(self, body: Mapping[str, Any]) -> bool:
        """A body with ``prompt`` and no ``messages``."""
        return "prompt" in body and "messages" not in body

    def parse(self, body: Mapping[str, Any], settings: SemCacheSettings) -> ParsedQuery | Skip:
        """Read a text completion body. Never raises: anything unexpected is a :class:`Skip`."""
        prompt = _prompt(body)
        if prompt is None or (isinstance(prompt, list) and not prompt):
            return Skip("no_messages")
        if isinstance(prompt, list):
            # Several prompts are several answers; token ids are not text.
            all_text = all(isinstance(p, str) for p in prompt)
            return Skip("n_not_1" if all_text else "non_text_content")
        if len(prompt) > settings.max_prompt_chars:
            return Skip("prompt_too_long")
        if not prompt.strip():
            return Skip("empty_query")
        return ParsedQuery(
            query=prompt,
            user_texts=(prompt,),
            context=_CONTEXT,
            params=scoped_params(body, settings, {name: body.get(name) for name in _OWN_PARAMS}),
            max_answer_tokens=positive_int(body.get("max_tokens")),
            traits=_traits(body, settings),
        )

    def recognises(self, response: Mapping[str, Any]) -> bool:
        """A response whose first choice has a ``text`` (and no ``message``)."""
        choices = response.get("choices")
        return (
            isinstance(choices, list)
            and bool(choices)
            and isinstance(choices[0], Mapping)
            and isinstance(choices[0].get("text"), str)
            and not isinstance(choices[0].get("message"), Mapping)
        )

    def read_answer(self, response: object, settings: SemCacheSettings) -> Answer | Refusal:
        """The storable answer in a ``text_completion``, or why it must not be stored."""
        completion = as_mapping(response)
        if completion is None:
            return Refusal("unreadable_response")
        if completion.get("error"):
            return Refusal("error_response")
        choices = completion.get("choices")
        if not isinstance(choices, list) or len(choices) != 1 or not isinstance(choices[0], Mapping):
            return Refusal("not_one_choice")
        choice = choices[0]
        if choice.get("finish_reason") not in _COMPLETE_FINISH_REASONS:
            return Refusal("finish_reason", str(choice.get("finish_reason")))
        raw_text = choice.get("text")
        text = raw_text if isinstance(raw_text, str) else ""
        if not text.strip():
            return Refusal("empty_answer")
        return answer_of(completion, text, self.name, usage_keys=("prompt_tokens", "completion_tokens"))

    def render(self, answer: Answer) -> dict[str, Any]:
        """The stored ``text_completion`` as it was answered, or one built from the neutral fields."""
        return native_of(answer, self.name) or completion_of(answer)

    def render_stream(self, answer: Answer) -> list[str]:
        """``text_completion`` chunks: the text in pieces, the finish (with the usage), ``[DONE]``."""
        completion = self.render(answer)
        head = {k: completion.get(k) for k in ("id", "object", "created", "model")}

        def chunk(text: str, finish: str | None = None, **extra: Any) -> str:
            choice = {"text": text, "index": 0, "logprobs": None, "finish_reason": finish}
            return sse_event({**head, "choices": [choice], **extra})

        events = [chunk(piece) for piece in pieces(answer.text)]
        events.append(chunk("", "stop", usage=completion.get("usage")))
        return [*events, "data: [DONE]\n\n"]
