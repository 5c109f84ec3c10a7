"""Reading requests and computing scopes: what must match besides the meaning."""

from __future__ import annotations

from typing import Any

import pytest

from litellm_semcache.formats import get_format
from litellm_semcache.integrations.litellm.controls import controls_of
from litellm_semcache.integrations.litellm.requests import identity_of
from litellm_semcache.pipeline import Prepared, prepare
from litellm_semcache.scope import exact_entry_id
from litellm_semcache.settings import SemCacheSettings
from litellm_semcache.text import normalize_text
from litellm_semcache.types import Outcome


def parse_request(kwargs: dict[str, Any], config: SemCacheSettings) -> Prepared | Outcome:
    """A request as the proxy hands it to the cache, prepared: its scope, or why the cache stays out."""
    chat = get_format("chat")
    return prepare(chat, kwargs, config, identity=identity_of(kwargs), controls=controls_of(kwargs))


def Skip(reason: str) -> Outcome:
    return Outcome("skipped", reason)  # type: ignore[arg-type]


def _req(text: str = "What is the capital of France?", **kwargs: Any) -> dict[str, Any]:
    return {"model": "gpt-a", "messages": [{"role": "user", "content": text}], **kwargs}


def _scope(kwargs: dict[str, Any], **settings: Any) -> str:
    config = SemCacheSettings(**settings)
    parsed = parse_request(kwargs, config)
    assert isinstance(parsed, Prepared)
    return parsed.scope.key


def test_global_scope_is_shared_across_model_groups() -> None:
    a = _req(metadata={"model_group": "gpt-a"})
    b = _req("Which city is the capital of France?", metadata={"model_group": "claude-b"})
    assert _scope(a) == _scope(b)


def test_model_group_scope_separates_groups() -> None:
    a = _req(metadata={"model_group": "gpt-a"})
    b = _req(metadata={"model_group": "claude-b"})
    assert _scope(a, scope="model_group") != _scope(b, scope="model_group")
    assert _scope(a, scope="model_group") == _scope(
        _req("other words", metadata={"model_group": "gpt-a"}), scope="model_group"
    )


def test_the_prompt_is_never_part_of_the_scope() -> None:
    assert _scope(_req("How do I reset my password?")) == _scope(
        _req("I forgot my password, how do I change it?")
    )


def test_namespace_from_settings_and_from_the_request() -> None:
    base = _scope(_req())
    assert _scope(_req(), namespace="support") != base
    assert _scope(_req(cache={"namespace": "team-x"})) != base
    assert _scope(_req(cache={"namespace": "team-x"})) == _scope(
        _req("Capital of France?", cache={"namespace": "team-x"})
    )


def test_system_prompt_and_earlier_turns_are_in_the_scope() -> None:
    def conv(system: str, earlier: list[str]) -> dict[str, Any]:
        messages: list[dict[str, Any]] = [{"role": "system", "content": system}]
        for i, text in enumerate(earlier):
            messages.append({"role": "user" if i % 2 == 0 else "assistant", "content": text})
        messages.append({"role": "user", "content": "How tall is it?"})
        return {"model": "m", "messages": messages}

    french = conv("Answer in French.", [])
    german = conv("Answer in German.", [])
    assert _scope(french) != _scope(german)
    eiffel = conv("Be brief.", ["Tell me about the Eiffel Tower", "It is in Paris."])
    liberty = conv("Be brief.", ["Tell me about the Statue of Liberty", "It is in New York."])
    assert _scope(eiffel) != _scope(liberty)
    assert _scope(eiffel, context_policy="system_only") == _scope(liberty, context_policy="system_only")


def test_scoped_parameters_and_temperature_policy() -> None:
    plain = _scope(_req())
    assert _scope(_req(response_format={"type": "json_object"})) != plain
    assert _scope(_req(temperature=0.0)) == _scope(_req(temperature=1.0))
    assert _scope(_req(temperature=0.0), temperature_policy="scope") != _scope(
        _req(temperature=1.0), temperature_policy="scope"
    )


def test_exact_ids_follow_the_text_as_sent() -> None:
    parsed = parse_request(_req(), SemCacheSettings())
    assert isinstance(parsed, Prepared)
    scope = parsed.scope

    def same(a: str, b: str) -> bool:
        return exact_entry_id(scope, a) == exact_entry_id(scope, b)

    # only changes that cannot alter the meaning: outer whitespace and canonical composition
    assert same("What is the capital of France?", "  What is the capital of France?\n")
    assert same("Qu'est-ce que le caf\u00e9 ?", "Qu'est-ce que le cafe\u0301 ?")
    # case, punctuation, superscripts and inner whitespace can change the question: never one entry
    for a, b in [
        ("What is 5!", "What is 5"),
        ("Compute 10!", "Compute 10"),
        ("2\u00b3 + 1", "23 + 1"),
        ("How much is 1 MB?", "How much is 1 Mb?"),
        ("Is 5 MW a lot?", "Is 5 mW a lot?"),
        ("x = true", "x = True"),
        ("def f():\n    return 1", "def f():\n  return 1"),
        ("What is the capital of France?", "What is the capital of Spain?"),
    ]:
        assert not same(a, b), (a, b)
    assert normalize_text("  Hello\tWORLD?! ") == "hello world"  # answers only (the answer vote)


def test_contexts_are_compared_as_sent() -> None:
    def system(prompt: str) -> str:
        return _scope(
            {
                "model": "m",
                "messages": [{"role": "system", "content": prompt}, {"role": "user", "content": "q"}],
            }
        )

    assert system('Reply as JSON with key "userName".') != system('Reply as JSON with key "username".')
    assert system("Be brief.") == system("Be brief.  ")


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"messages": []}, "no_messages"),
        ({"messages": "hi"}, "no_messages"),
        ({"messages": [{"content": "no role"}]}, "malformed_message"),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "image_url", "image_url": {"url": "data:,"}},
                            {"type": "text", "text": "what is this?"},
                        ],
                    }
                ]
            },
            "non_text_content",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]},
            "non_text_content",
        ),
        (
            {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Sure"}]},
            "last_message_not_user",
        ),
        ({"messages": [{"role": "user", "content": "   "}]}, "empty_query"),
        ({"messages": [{"role": "user", "content": "hi"}], "n": 2}, "n_not_1"),
        ({"messages": [{"role": "user", "content": "hi"}], "logprobs": True}, "logprobs"),
        ({"messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "function"}]}, "tools"),
        ({"messages": [{"role": "user", "content": 42}]}, "non_text_content"),
    ],
)
def test_requests_the_cache_must_not_touch(kwargs: dict[str, Any], reason: str) -> None:
    assert parse_request(kwargs, SemCacheSettings()) == Skip(reason)


def test_text_parts_are_joined_and_multi_turn_policy() -> None:
    kwargs = {
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "Capital"}, {"type": "text", "text": "of France?"}],
            }
        ]
    }
    parsed = parse_request(kwargs, SemCacheSettings())
    assert isinstance(parsed, Prepared) and parsed.request.query == "Capital\nof France?"
    multi = {
        "messages": [
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": "b"},
            {"role": "user", "content": "c"},
        ]
    }
    assert parse_request(multi, SemCacheSettings(context_policy="single_turn")) == Skip("multi_turn")
    assert isinstance(parse_request(multi, SemCacheSettings()), Prepared)


def test_temperature_limit() -> None:
    config = SemCacheSettings(max_temperature=0.5)
    assert parse_request(_req(temperature=0.9), config) == Skip("temperature_above_limit")
    assert isinstance(parse_request(_req(temperature=0.2), config), Prepared)


def _md(
    team: str | None = None, key: str | None = "hashed-key-1", end_user: str | None = None
) -> dict[str, Any]:
    return {"user_api_key_team_id": team, "user_api_key_hash": key, "user_api_key_end_user_id": end_user}


@pytest.mark.parametrize(
    ("isolation", "a", "b", "shared"),
    [
        ("team", _md("t1", "k1"), _md("t1", "k2"), True),
        ("team", _md("t1", "k1"), _md("t2", "k1"), False),
        ("team", _md(None, "k1"), _md(None, "k2"), False),  # keys without a team are isolated per key
        ("key", _md("t1", "k1"), _md("t1", "k2"), False),
        ("key", _md("t1", "k1"), _md("t2", "k1"), True),
        ("end_user", _md("t1", "k1", "alice"), _md("t1", "k1", "bob"), False),
        # the end-user id is client-chosen: "alice" of another team (or of a team-less key) is not alice
        ("end_user", _md("t1", "k1", "alice"), _md("t2", "k2", "alice"), False),
        ("end_user", _md("t1", "k1", "alice"), _md(None, "k2", "alice"), False),
        ("end_user", _md(None, "k1", "alice"), _md(None, "k2", "alice"), False),
        ("end_user", _md("t1", "k1", "alice"), _md("t1", "k2", "alice"), True),
        ("end_user", _md("t1", "k1", None), _md("t1", "k2", None), False),  # no end user: per key
        ("none", _md("t1", "k1", "alice"), _md("t2", "k2", "bob"), True),
    ],
)
def test_isolation_modes(isolation: str, a: dict[str, Any], b: dict[str, Any], shared: bool) -> None:
    assert (
        _scope(_req(metadata=a), isolation=isolation) == _scope(_req(metadata=b), isolation=isolation)
    ) is shared


def test_isolation_does_not_split_paraphrases_inside_one_tenant() -> None:
    md = _md("t1", "k1", "alice")
    for isolation in ("team", "key", "end_user"):
        assert _scope(_req("How do I reset my password?", metadata=md), isolation=isolation) == _scope(
            _req("I forgot my password, how can I change it?", metadata=dict(md)), isolation=isolation
        )


def test_end_user_falls_back_to_the_user_field_and_identities_are_hashed() -> None:
    config = SemCacheSettings(isolation="end_user")
    kwargs = _req(user="alice@example.com", metadata={"user_api_key_hash": "sk-raw-secret"})
    parsed = parse_request(kwargs, config)
    assert isinstance(parsed, Prepared)
    scope = parsed.scope
    assert scope.tenant.startswith("end_user:")
    assert "alice" not in scope.tenant and "sk-raw" not in scope.tenant
    other = _req(user="bob@example.com", metadata={"user_api_key_hash": "sk-raw-secret"})
    assert _scope(kwargs, isolation="end_user") != _scope(other, isolation="end_user")
