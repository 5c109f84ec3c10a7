"""Admission of answers for storage (the sampling envelope), the folded text the filters read, and the
validation of a request's cache controls."""

from __future__ import annotations

from typing import Any

import pytest

from litellm_semcache.admission.envelope import EnvelopeStage
from litellm_semcache.admission.folding import fold_words, readings
from litellm_semcache.formats import get_format
from litellm_semcache.integrations.litellm.controls import controls_of, validate_controls
from litellm_semcache.settings import SamplingEnvelope, SemCacheSettings
from litellm_semcache.types import ParsedQuery


def parsed(**body: Any) -> ParsedQuery:
    result = get_format("chat").parse(
        {"messages": [{"role": "user", "content": "How do vaccines work?"}], **body}, SemCacheSettings()
    )
    assert isinstance(result, ParsedQuery)
    return result


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"temperature": 1.5}, "temperature"),
        ({"top_p": 0.01}, "top_p"),
        ({"seed": 0}, "seed"),
        ({"top_k": 1}, "top_k"),
        ({"presence_penalty": 2.0}, "presence_penalty"),
        ({"frequency_penalty": -1.0}, "frequency_penalty"),
    ],
)
def test_answers_sampled_outside_the_envelope_are_not_stored(body: dict[str, Any], detail: str) -> None:
    result = EnvelopeStage(SamplingEnvelope()).decide(parsed(**body))
    assert not result.passed and result.reason == "outside_envelope" and result.detail == detail


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"temperature": 0.0},
        {"temperature": 1.0, "top_p": 0.9},
        {"presence_penalty": 0},
        {"frequency_penalty": 0.0},
    ],
)
def test_ordinary_sampling_is_inside_the_envelope(body: dict[str, Any]) -> None:
    assert EnvelopeStage(SamplingEnvelope()).decide(parsed(**body)).passed


def test_a_mock_response_is_never_stored_and_the_envelope_is_configurable() -> None:
    assert EnvelopeStage(SamplingEnvelope()).decide(parsed(mock_response="POISON")).reason == "mock_response"
    loose = SamplingEnvelope(max_temperature=2.0, forbidden=[])
    assert EnvelopeStage(loose).decide(parsed(temperature=1.5, seed=3)).passed


def test_folding_undoes_hiding_tricks_but_leaves_other_scripts_alone() -> None:
    assert "what is my account" in {fold_words(r) for r in readings("what is my\u200baccount")}
    assert "today" in {fold_words(r) for r in readings("to\u200bday")}
    assert fold_words("m\u0443 account") == "my account"  # a Cyrillic у inside a Latin word
    assert fold_words("my-account") == "my account"
    assert (
        fold_words("\u043c\u043e\u0439 \u0441\u0447\u0451\u0442")
        == "\u043c\u043e\u0439 \u0441\u0447\u0451\u0442"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cache": "yes"}, "cache must be an object"),
        ({"cache": {"ttl": "abc"}}, "cache.ttl must be a number of seconds of at least 1"),
        ({"cache": {"ttl": 0.5}}, "cache.ttl"),
        ({"cache": {"ttl": float("inf")}}, "cache.ttl"),
        ({"ttl": -5}, "ttl must be a number"),
        ({"cache": {"no-store": "yes"}}, "cache.no-store must be true or false"),
        ({"cache": {"s-maxage": -1}}, "cache.s-maxage"),
        ({"cache": {"namespace": ""}}, "cache.namespace"),
        ({"cache": {"similarity-threshold": 2}}, "similarity-threshold must be a number between 0 and 1"),
    ],
)
def test_malformed_controls_are_named(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        validate_controls(kwargs)


def test_valid_controls_are_read() -> None:
    kwargs = {"cache": {"ttl": 1e30, "s-maxage": 60, "namespace": "support", "similarity-threshold": 0.9}}
    validate_controls(kwargs)
    controls = controls_of(kwargs)
    assert controls.ttl_seconds == 2**31 - 1  # the pipeline cuts it to max_ttl_seconds
    assert (controls.max_age_seconds, controls.namespace, controls.threshold) == (60.0, "support", 0.9)


def test_ttl_seconds_may_not_exceed_max_ttl_seconds() -> None:
    with pytest.raises(ValueError, match="exceeds max_ttl_seconds"):
        SemCacheSettings(ttl_seconds=10**7)
    assert SemCacheSettings(ttl_seconds=10**7, max_ttl_seconds=10**8).ttl_seconds == 10**7
