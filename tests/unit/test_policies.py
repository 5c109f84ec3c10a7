"""Policies per use case: which requests each one applies to, and what a policy list may not say."""

from __future__ import annotations

from typing import Any

import pytest

from litellm_semcache.errors import ConfigError
from litellm_semcache.policies import Policy, check_policies, select_policy
from litellm_semcache.settings import load_settings

POLICIES = [
    {"name": "faq", "match": {"model_groups": ["support-bot"]}, "target_precision": 0.95},
    {
        "name": "clinical",
        "match": {"teams": ["clinic-team"], "model_groups": ["med"]},
        "mode": "exact_only",
        "isolation": "end_user",
    },
    {"name": "legal", "match": {"key_aliases": ["legal-tool"]}, "mode": "off"},
    {"name": "by-tag-only", "mode": "serve", "ttl_seconds": 60},
]


def pick(**request: Any) -> str | None:
    policies = load_settings(policies=POLICIES).policies
    found = select_policy(
        policies,
        tags=request.get("tags", []),
        model_group=request.get("model_group", "other"),
        team=request.get("team"),
        team_alias=request.get("team_alias"),
        key_alias=request.get("key_alias"),
        namespace=request.get("namespace", "default"),
    )
    return found.name if found else None


def test_the_first_matching_policy_wins_and_unmatched_requests_get_the_defaults() -> None:
    assert pick(model_group="support-bot") == "faq"
    assert pick(model_group="med") == "clinical"
    assert pick(model_group="support-bot", team="clinic-team") == "faq"  # first match
    assert pick(key_alias="legal-tool") == "legal"
    assert pick(model_group="gpt-4o") is None


def test_a_key_or_team_tag_names_its_policy_whatever_the_model_group() -> None:
    assert pick(model_group="support-bot", tags=["legal"]) == "legal"
    assert pick(tags=["by-tag-only"]) == "by-tag-only"  # reachable only by its name
    assert pick(model_group="support-bot", tags=["no-such-policy"]) == "faq"


@pytest.mark.parametrize(
    ("policies", "message"),
    [
        ([{"name": "a", "match": {"model_groups": ["x"]}, "bogus": 1}], "policies.0.bogus"),
        ([{"name": "a", "match": {"modelgroups": ["x"]}}], "policies.0.match.modelgroups"),
        ([{"name": "a", "mode": "sometimes"}], "policies.0.mode"),
        (
            [{"name": "a", "mode": "off", "ttl_seconds": 60}],
            "`mode: off`: its other settings would never apply",
        ),
        ([{"name": "a", "ttl_seconds": 100, "max_ttl_seconds": 10}], "ttl_seconds exceeds max_ttl_seconds"),
        ([{"name": "a"}, {"name": "a"}], "duplicate names"),
        ([{"name": "default"}], "`default` is the name of the block's own settings"),
        ([{"name": "a", "target_precision": 1.5}], "policies.0.target_precision"),
    ],
)
def test_a_malformed_policy_list_is_refused_naming_the_field(
    policies: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("`", ".").replace("(", r"\(")):
        load_settings(policies=policies)


def test_a_policy_for_a_model_group_the_proxy_does_not_have_can_never_match() -> None:
    policies = [Policy(name="faq", match={"model_groups": ["suport-bot"]})]  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not in the proxy's model_list"):
        check_policies(policies, model_groups=["support-bot", "med"])
    check_policies(policies, model_groups=["suport-bot"])


# --- how a policy changes what prepare() decides -----------------------------------------------------------
def _prepare(group: str, **metadata: Any) -> Any:
    from litellm_semcache.formats import get_format
    from litellm_semcache.integrations.litellm.requests import identity_of
    from litellm_semcache.pipeline import prepare

    settings = load_settings(policies=POLICIES)
    kwargs = {
        "model": group,
        "messages": [{"role": "user", "content": "How do I reset my password?"}],
        "metadata": {"model_group": group, "user_api_key_hash": "k1", **metadata},
    }
    return prepare(get_format("chat"), kwargs, settings, identity=identity_of(kwargs))


def test_each_policy_keeps_its_entries_apart_and_the_default_scope_is_unchanged() -> None:
    from litellm_semcache.formats import get_format
    from litellm_semcache.integrations.litellm.requests import identity_of
    from litellm_semcache.pipeline import Prepared, prepare

    faq, plain = _prepare("support-bot"), _prepare("gpt-a")
    assert isinstance(faq, Prepared) and isinstance(plain, Prepared)
    assert (faq.policy, plain.policy) == ("faq", "default")
    assert (
        faq.scope.key
        != _prepare("support-bot", user_api_key_metadata={"semcache_policy": "by-tag-only"}).scope.key
    )
    # without policies, the same request has the same scope as under the default policy
    kwargs = {
        "model": "gpt-a",
        "messages": [{"role": "user", "content": "How do I reset my password?"}],
        "metadata": {"model_group": "gpt-a", "user_api_key_hash": "k1"},
    }
    bare = prepare(get_format("chat"), kwargs, load_settings(), identity=identity_of(kwargs))
    assert isinstance(bare, Prepared) and bare.scope.key == plain.scope.key


def test_exact_only_and_off_policies() -> None:
    clinical = _prepare("med")
    assert clinical.policy == "clinical" and clinical.exact_only and clinical.mode == "serve"
    legal = _prepare("gpt-a", user_api_key_alias="legal-tool")
    assert (legal.status, legal.reason, legal.policy) == ("skipped", "mode_off", "legal")


def test_the_policy_tag_comes_from_the_keys_or_the_teams_metadata_the_proxy_fills() -> None:
    from litellm_semcache.integrations.litellm.requests import identity_of

    identity = identity_of(
        {
            "metadata": {
                "user_api_key_metadata": {"semcache_policy": "clinical"},
                "user_api_key_team_metadata": {"semcache_policy": ["faq", "clinical"]},
                "user_api_key_alias": "my-key",
            }
        }
    )
    assert identity.policy_tags == ("clinical", "faq") and identity.key_alias == "my-key"
    assert identity_of({"metadata": {"user_api_key_metadata": {"semcache_policy": 7}}}).policy_tags == ()


def test_an_explicit_null_in_a_policy_clears_the_blocks_value_and_leaving_it_out_keeps_it(
    tmp_path: Any,
) -> None:
    from litellm_semcache.policies import effective_settings

    calibration, profile = tmp_path / "calibration.json", tmp_path / "profile.json"
    settings = load_settings(
        cacheability_calibration=calibration,
        calibration_profile=profile,
        similarity_threshold=0.9,
        live_ttl_seconds=300,
        policies=[
            {
                "name": "strict",
                "match": {"model_groups": ["med"]},
                "cacheability_calibration": None,
                "calibration_profile": None,
                "similarity_threshold": None,
                "live_ttl_seconds": None,
            },
            {"name": "faq", "match": {"model_groups": ["faq"]}, "ttl_seconds": 60},
        ],
    )
    # A later copy of the settings (as the CLI and the proxy make) must not turn left-out fields into nulls.
    settings = settings.with_overrides(ttl_seconds=120)
    strict, faq = (effective_settings(settings, p) for p in settings.policies)

    assert strict.cacheability_calibration is None and strict.calibration_profile is None
    assert strict.similarity_threshold is None and strict.live_ttl_seconds is None
    assert (faq.cacheability_calibration, faq.calibration_profile) == (calibration, profile)
    assert (faq.similarity_threshold, faq.live_ttl_seconds, faq.ttl_seconds) == (0.9, 300, 60)


def test_an_off_policy_may_not_clear_settings_either() -> None:
    with pytest.raises(ConfigError, match="mode: off"):
        load_settings(policies=[{"name": "legal", "mode": "off", "calibration_profile": None}])
