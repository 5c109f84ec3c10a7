"""The format-neutral request, answer and outcome that travel along the request's path.

A :mod:`~litellm_semcache.formats` module turns one API's wire format into a :class:`Request`; the
:class:`~litellm_semcache.pipeline.Pipeline` answers it with an :class:`Outcome`, and stores an
:class:`Answer`. Nothing here knows LiteLLM or any one API.

Outcomes and reasons are typed literals; a reason may carry a detail (the pattern that matched, the kind
of contrast), shown to clients as ``reason:detail`` (e.g. ``pattern:my account``, ``contrast:number``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .store import StoredEntry

__all__ = [
    "Answer",
    "Controls",
    "ErrorReason",
    "FilterReason",
    "Finish",
    "HitReason",
    "Identity",
    "MissReason",
    "Mode",
    "Outcome",
    "ParsedQuery",
    "Reason",
    "Refusal",
    "RefusalReason",
    "Request",
    "Skip",
    "SkipReason",
    "Status",
    "Traits",
    "reason_text",
]

Status = Literal["hit", "miss", "filtered", "skipped", "error"]
"""What the cache did with a request."""

Mode = Literal["off", "shadow", "serve"]
"""How the cache handles a request: ``serve`` answers hits from the cache; ``shadow`` looks up as usual and
records what it would have served, but every request goes to the provider (and its fresh answer is
compared with the would-be cached one); ``off`` neither looks up nor stores."""

SkipReason = Literal[
    "no_messages",
    "malformed_message",
    "non_text_content",
    "last_message_not_user",
    "empty_query",
    "multi_turn",
    "n_not_1",
    "logprobs",
    "audio_output",
    "tools",
    "temperature_above_limit",
    "prompt_too_long",
    "server_state",
    "mode_off",
]
"""Why a request is not a question the cache can handle (its shape, not its meaning)."""

FilterReason = Literal["pattern", "class", "classifier_unavailable"]
"""Why a well-formed question is kept out of the cache (its meaning)."""

HitReason = Literal["exact", "semantic"]
MissReason = Literal[
    "no_candidates",
    "below_threshold",
    "ambiguous",
    "contrast",
    "answer_too_long",
    "expired",
    "query_too_long_for_embedding",
    "embedding_timeout",
    "verifier",
    "verifier_unavailable",
    "exact_only",
]
ErrorReason = Literal["backend_unavailable"]
Reason = SkipReason | FilterReason | HitReason | MissReason | ErrorReason

RefusalReason = Literal[
    "unreadable_response",
    "error_response",
    "not_one_choice",
    "no_message",
    "tool_calls",
    "finish_reason",
    "empty_answer",
    "backend_unavailable",
    "outside_envelope",
    "mock_response",
    "embedding_timeout",
    "class",
    "classifier_unavailable",
    "refusal",
    "non_text_answer",
]
"""Why an answer is not stored."""


def reason_text(reason: str, detail: str | None) -> str:
    """``reason`` or ``reason:detail``, as response headers and metrics show it."""
    return f"{reason}:{detail}" if detail is not None else reason


@dataclass(frozen=True)
class Skip:
    """The cache stays out of this request: no lookup, no store."""

    reason: SkipReason


@dataclass(frozen=True)
class Identity:
    """Who asks, as the gateway authenticated them (raw values; the scope hashes them)."""

    team: str | None = None
    key: str | None = None
    """The virtual key's hash (or the key itself when no hash is known)."""
    end_user: str | None = None
    model_group: str = "unknown"
    key_alias: str | None = None
    team_alias: str | None = None
    policy_tags: tuple[str, ...] = ()
    """``semcache_policy`` values of the key's and the team's LiteLLM metadata (key first)."""


@dataclass(frozen=True)
class Controls:
    """Per-request cache controls (validated by the integration that read them)."""

    namespace: str | None = None
    threshold: float | None = None
    """``similarity-threshold``: overrides the setting for this request."""
    max_age_seconds: float | None = None
    """``s-maxage``: only entries younger than this may serve the request."""
    ttl_seconds: int | None = None
    """Lifetime of the entry this request stores."""
    mode: Mode | None = None
    """``cache.mode``: a request may ask to be handled more carefully (``shadow``, ``off``) than its
    deployment and namespace are, never less."""


@dataclass(frozen=True)
class Traits:
    """Facts about a request's shape that the admission rules decide on (see ``admission/rules.py``)."""

    choices: int = 1
    """``n``: answers asked for."""
    logprobs: bool = False
    audio_output: bool = False
    offers_tools: bool = False
    """Tools or functions offered to the model."""
    temperature: float | None = None
    earlier_turns: int = 0
    """Messages before the last user message (system prompts not counted)."""
    sampling: Mapping[str, float] = field(default_factory=dict)
    """Sampling parameters the client set (temperature, top_p, seed, top_k, penalties), as numbers."""
    mock_response: bool = False
    """The client asked the gateway to answer with a text of its own choosing."""


@dataclass(frozen=True)
class ParsedQuery:
    """What an API format reads from a request body: the question and what must match exactly."""

    query: str
    """The last user message: what is embedded and compared by meaning."""
    user_texts: tuple[str, ...]
    """Every user message, for the cacheability filter."""
    context: tuple[Any, ...]
    """System prompt and earlier turns, canonical; must match exactly (empty under `single_turn`)."""
    params: Mapping[str, Any] = field(default_factory=dict)
    """Scoped request parameters that must be equal (tools, response_format, ...)."""
    max_answer_tokens: int | None = None
    """The request's completion-token limit: a stored answer longer than this cannot serve it."""
    traits: Traits = Traits()


@dataclass(frozen=True)
class Request:
    """A cacheable request, format-neutral: the parsed question, who asks, and their controls."""

    parsed: ParsedQuery
    identity: Identity = Identity()
    controls: Controls = Controls()
    model: str = ""
    """The model the request asks for (what a hit's savings are priced as)."""
    provider: str | None = None

    @property
    def query(self) -> str:
        """The text compared by meaning."""
        return self.parsed.query


Finish = Literal["stop", "stop_sequence", "tool_calls"]
"""How a stored answer ended, format-neutral: the model finished (chat ``stop``, Anthropic ``end_turn``,
Responses ``completed``), it hit a stop sequence (Anthropic ``stop_sequence``), or it called tools
(only stored with ``cache_tool_calls``)."""


@dataclass(frozen=True)
class Answer:
    """A complete answer worth storing, format-neutral, with the wire JSON it came in.

    The neutral fields (text, finish, token counts, model) are enough to render the answer in any API
    format; ``native`` and ``format`` let a hit in the format it was answered in return it unchanged.
    """

    text: str
    model: str
    completion_tokens: int | None
    native: str
    """The response as the API returned it (JSON); a hit in the same format returns it unchanged."""
    answer_id: str
    """Equal answers (after normalization) have equal ids: the answer vote counts on it."""
    prompt_tokens: int | None = None
    finish: Finish = "stop"
    format: str = "chat"
    """Name of the API format ``native`` is in (see :mod:`litellm_semcache.formats`)."""
    created_at: float | None = None
    """When the answer was stored (set on answers read back from an entry)."""


@dataclass(frozen=True)
class Refusal:
    """Why an answer is not stored."""

    reason: RefusalReason
    detail: str | None = None

    @property
    def text(self) -> str:
        """The reason as metrics show it."""
        return reason_text(self.reason, self.detail)


@dataclass(frozen=True)
class Outcome:
    """What a lookup found and why; ``entry`` is set on a hit."""

    status: Status
    reason: Reason
    detail: str | None = None
    entry: StoredEntry | None = None
    similarity: float = 0.0
    timings: Mapping[str, float] = field(default_factory=dict)
    """Milliseconds per step of the lookup (prepare, exact_get, embed, knn, verify, fetch)."""
    score: float | None = None
    """The learned verifier's probability for the candidate it judged."""
    class_probability: float | None = None
    """The cacheability classifier's probability for the class it decided on."""
    mode: Mode = "serve"
    """``shadow``: the lookup ran, but its hit (if any) is only what the cache *would* have served."""
    policy: str = "default"
    """The policy the request fell under (``default``: none matched)."""

    @property
    def would_be_hit(self) -> bool:
        """A hit found in shadow mode: recorded and compared, never served."""
        return self.mode == "shadow" and self.status == "hit"

    @property
    def reason_text(self) -> str:
        """``reason`` or ``reason:detail`` (``pattern:my account``, ``contrast:number``)."""
        return reason_text(self.reason, self.detail)

    @property
    def exact(self) -> bool:
        """A hit on an exact repeat (no embedding needed)."""
        return self.status == "hit" and self.reason == "exact"
