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
