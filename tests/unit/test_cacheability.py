"""The cacheability filter: personal and time-sensitive questions stay out of the cache."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from litellm_semcache.admission import PatternFilter
from litellm_semcache.settings import SemCacheSettings
from litellm_semcache.types import ParsedQuery, reason_text


@dataclass(frozen=True)
class Decision:
    cacheable: bool
    reason: str


@dataclass(frozen=True)
class CacheabilityFilter:
    """The pattern stage, asked about a conversation's user messages."""

    stage: PatternFilter

    @classmethod
    def from_settings(cls, settings: SemCacheSettings) -> CacheabilityFilter:
        return cls(PatternFilter.from_settings(settings))

    def check(self, texts: list[str]) -> Decision:
        result = self.stage.decide(ParsedQuery(query=texts[-1], user_texts=tuple(texts), context=()))
        return Decision(
            result.passed, "cacheable" if result.passed else reason_text(result.reason, result.detail)
        )


#: A phrase list as operators write them (the previous release's defaults, now an example).
PHRASES = [
    *("my account", "my order", "my orders", "my balance", "today", "right now", "current", "this week"),
]


@pytest.fixture
def default_filter() -> CacheabilityFilter:
    return CacheabilityFilter.from_settings(SemCacheSettings(never_cache_patterns=PHRASES))


def test_the_default_phrases_are_those_that_add_to_the_classifier_on_dev() -> None:
    # benchmarks/cacheability.py: "my account" and the others kept general support questions out
    # ("How do I close my account?") and caught nothing the classifier missed; "current" did.
    assert SemCacheSettings().never_cache_patterns == ["current"]


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("Where is my order?", "my order"),
        ("What is MY ACCOUNT number", "my account"),
        ("what's my   balance", "my balance"),
        ("What's the weather today?", "today"),
        ("Who is the current president of France", "current"),
        ("Is the store open right now?", "right now"),
        ("Any events this week in Paris?", "this week"),
        ("Today: what's on TV", "today"),
        ("show me my orders from last year", "my orders"),
    ],
)
def test_personal_and_time_sensitive_questions_are_not_cacheable(
    default_filter: CacheabilityFilter, text: str, pattern: str
) -> None:
    decision = default_filter.check([text])
    assert not decision.cacheable
    assert decision.reason == f"pattern:{pattern}"


@pytest.mark.parametrize(
    "text",
    [
        "What currency does Japan use?",  # "currency" is not "current"
        "Which ocean currents flow past Portugal?",  # "currents" is not "current"
        "How do I reset a forgotten password?",
        "What is the capital of France?",
        "How does a todayish word parse",  # "todayish" is not "today"
        "Summarize the history of accounting",  # "accounting" is not "my account"
        "Recurrent neural networks explained",
    ],
)
def test_generic_questions_are_cacheable(default_filter: CacheabilityFilter, text: str) -> None:
    decision = default_filter.check([text])
    assert decision.cacheable, decision.reason
    assert decision.reason == "cacheable"


def test_any_user_message_of_the_conversation_counts(default_filter: CacheabilityFilter) -> None:
    assert not default_filter.check(["Tell me about my account", "and the fees?"]).cacheable


def test_extra_patterns_extend_the_defaults_and_accept_regexes() -> None:
    settings = SemCacheSettings(extra_never_cache_patterns=["invoice number", r"re:\border\s*#?\d{4,}"])
    flt = CacheabilityFilter.from_settings(settings)
    assert flt.check(["Where is invoice  number 7?"]).reason == "pattern:invoice number"
    assert flt.check(["status of order #12345"]).reason == r"pattern:re:\border\s*#?\d{4,}"
    assert not flt.check(["what is the current price"]).cacheable  # defaults still apply
    assert flt.check(["how do orders work"]).cacheable


def test_setting_the_patterns_replaces_the_defaults() -> None:
    flt = CacheabilityFilter.from_settings(SemCacheSettings(never_cache_patterns=["secret"]))
    assert flt.check(["What's the weather today?"]).cacheable
    assert not flt.check(["tell me a SECRET"]).cacheable
