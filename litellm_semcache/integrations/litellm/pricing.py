"""What a hit saved, priced with LiteLLM's own price map."""

from __future__ import annotations

import litellm

from ...ops.metrics import usage_tokens

__all__ = ["litellm_pricer"]


def litellm_pricer(response_json: str, model: str, provider: str | None) -> tuple[int, float]:
    """Tokens and cost the provider would have charged for this hit."""
    prompt, completion = usage_tokens(response_json)
    try:
        prompt_cost, completion_cost = litellm.cost_per_token(
            model=model,
            prompt_tokens=prompt,
            completion_tokens=completion,
            custom_llm_provider=provider,
        )
    except Exception:  # a model missing from the price map saves tokens, not known dollars
        return prompt + completion, 0.0
    return prompt + completion, float(prompt_cost + completion_cost)
