"""Policies per use case: one gateway, a different risk per app.

A policy matches requests by model group, team, key alias, namespace, or a tag the key's or team's
LiteLLM metadata carries (``semcache_policy: clinical``), and sets how the cache treats them: ``mode``
(``off``, ``exact_only``, ``shadow``, ``serve``), the target precision or an expert threshold, TTLs,
isolation, the cacheability classes to keep out, and its own calibration files (the classifier's shift,
the verifier's gates). A tag names its policy whatever the order; otherwise the
first policy that matches wins, and unmatched requests get the block's defaults.

Entries are kept per policy: the policy's name is part of the scope, so an answer cached for the support
bot never reaches the clinical assistant.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .errors import ConfigError

if TYPE_CHECKING:
    from .settings import SemCacheSettings

__all__ = [
    "CLEARABLE_SETTINGS",
    "DEFAULT_POLICY",
    "POLICY_TAG",
    "Policy",
    "PolicyMatch",
    "PolicyMode",
    "effective_settings",
    "named_policy_settings",
    "select_policy",
]

PolicyMode = Literal["off", "exact_only", "shadow", "serve"]
#: The LiteLLM key or team metadata field that names a policy.
POLICY_TAG = "semcache_policy"
#: The name requests that no policy matches go by (in headers, metrics and scopes).
DEFAULT_POLICY = "default"

#: Settings a policy may set; everything else comes from the block.
POLICY_SETTINGS = (
    "mode",
    "target_precision",
    "similarity_threshold",
    "verifier_threshold",
    "ttl_seconds",
    "max_ttl_seconds",
    "isolation",
    "keep_out_classes",
    "live_ttl_seconds",
    "cacheability_calibration",
    "calibration_profile",
)
#: Settings whose block value may be unset: a policy's explicit ``null`` clears the block's value for its
#: requests (e.g. the block's calibration file, an expert threshold, or minutes-old live answers), where
#: leaving the field out keeps it.
CLEARABLE_SETTINGS = (
    "similarity_threshold",
    "verifier_threshold",
    "live_ttl_seconds",
    "cacheability_calibration",
    "calibration_profile",
)


class PolicyMatch(BaseModel):
    """Which requests a policy applies to: any listed value of any listed field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_groups: list[str] = Field(default_factory=list)
    teams: list[str] = Field(default_factory=list, description="Team ids (or aliases) of the virtual key.")
    key_aliases: list[str] = Field(default_factory=list)
    namespaces: list[str] = Field(default_factory=list)
    tags: list[str] = Field(
        default_factory=list, description=f"Values of `{POLICY_TAG}` in the key's or team's metadata."
    )

    @property
    def empty(self) -> bool:
        return not (self.model_groups or self.teams or self.key_aliases or self.namespaces or self.tags)


class Policy(BaseModel):
    """One use case's cache settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$", min_length=1, max_length=64)
    match: PolicyMatch = Field(
        default_factory=PolicyMatch,
        description=f"Empty: only keys or teams whose metadata names it (`{POLICY_TAG}: <name>`) get it.",
    )
    mode: PolicyMode | None = None
    target_precision: float | None = Field(default=None, ge=0.5, le=0.999)
    similarity_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    verifier_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    ttl_seconds: int | None = Field(default=None, gt=0)
    max_ttl_seconds: int | None = Field(default=None, gt=0)
    isolation: Literal["none", "team", "key", "end_user"] | None = None
    keep_out_classes: list[Literal["private", "live", "random"]] | None = None
    live_ttl_seconds: int | None = Field(default=None, gt=0)
    cacheability_calibration: Path | None = Field(
        default=None, description="This use case's own `calibrate --write-calibration` file."
    )
    calibration_profile: Path | None = Field(
        default=None, description="This use case's own `calibrate --write-profile` file (verifier gates)."
    )

    @model_validator(mode="after")
    def _coherent(self) -> Policy:
        if self.name == DEFAULT_POLICY:
            raise ValueError(f"`{DEFAULT_POLICY}` is the name of the block's own settings; choose another")
        if self.ttl_seconds and self.max_ttl_seconds and self.ttl_seconds > self.max_ttl_seconds:
            raise ValueError(f"policy {self.name!r}: ttl_seconds exceeds max_ttl_seconds")
        if self.mode == "off" and self.overrides():
            raise ValueError(f"policy {self.name!r} is `mode: off`: its other settings would never apply")
        return self

    def overrides(self) -> dict[str, Any]:
        """The settings this policy sets (the rest come from the block), including the clearable ones it
        sets to ``null`` explicitly."""
        return {
            f: getattr(self, f)
            for f in POLICY_SETTINGS
            if f != "mode"
            and (getattr(self, f) is not None or (f in CLEARABLE_SETTINGS and f in self.model_fields_set))
        }

    def matches(
        self,
        *,
        model_group: str,
        team: str | None,
        team_alias: str | None,
        key_alias: str | None,
        namespace: str,
    ) -> bool:
        """Whether the policy's match applies to a request."""
        m = self.match
        return (
            model_group in m.model_groups
            or bool(team and team in m.teams)
            or bool(team_alias and team_alias in m.teams)
            or bool(key_alias and key_alias in m.key_aliases)
            or namespace in m.namespaces
        )


def check_policies(policies: Sequence[Policy], model_groups: Iterable[str] | None = None) -> None:
    """Refuse a policy list that cannot work: duplicate names, or model groups the proxy does not have.

    Raises:
        ValueError: the message names the policy and the field.
    """
    names = [p.name for p in policies]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"policies: duplicate names {duplicates}")
    if model_groups is not None:
        known = set(model_groups)
        for policy in policies:
            unknown = sorted(set(policy.match.model_groups) - known)
            if unknown:
                raise ValueError(
                    f"policy {policy.name!r}: match.model_groups {unknown} are not in the proxy's model_list "
                    f"({sorted(known)}): it could never match them"
                )


def select_policy(
    policies: Sequence[Policy],
    *,
    tags: Sequence[str],
    model_group: str,
    team: str | None,
    team_alias: str | None,
    key_alias: str | None,
    namespace: str,
) -> Policy | None:
    """The policy a request falls under: the one its key or team names, else the first that matches, else
    None (the block's defaults)."""
    by_name = {p.name: p for p in policies}
    for tag in tags:
        if tag in by_name:
            return by_name[tag]
        for policy in policies:
            if tag in policy.match.tags:
                return policy
    for policy in policies:
        if policy.matches(
            model_group=model_group,
            team=team,
            team_alias=team_alias,
            key_alias=key_alias,
            namespace=namespace,
        ):
            return policy
    return None


def named_policy_settings(settings: SemCacheSettings, name: str) -> SemCacheSettings:
    """The settings requests under the policy ``name`` get (``default``: the block's own).

    Raises:
        ConfigError: no policy has that name.
    """
    if name == DEFAULT_POLICY:
        return settings
    for policy in settings.policies:
        if policy.name == name:
            return effective_settings(settings, policy)
    known = ", ".join([DEFAULT_POLICY, *(p.name for p in settings.policies)])
    raise ConfigError(f"no policy named {name!r} (the settings have: {known})")


def effective_settings(settings: SemCacheSettings, policy: Policy | None) -> SemCacheSettings:
    """The block's settings with a policy's on top (``exact_only`` serves: only its lookup differs)."""
    if policy is None:
        return settings
    update = policy.overrides()
    if policy.mode is not None:
        update["mode"] = "serve" if policy.mode == "exact_only" else policy.mode
        update["namespace_modes"] = {}  # the policy's mode is the mode of all its requests
    return settings.model_copy(update=update)
