"""Shadow mode, audits and their counters, without services: the mode a request gets, its controls, the
audit sampler, the kwargs an audit re-sends, and the counters as `stats` and Prometheus show them."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from litellm_semcache.formats import get_format
from litellm_semcache.integrations.litellm.adapter import status_of
from litellm_semcache.integrations.litellm.audits import audit_kwargs, usage_of
from litellm_semcache.integrations.litellm.controls import (
    controls_of,
    parse_control_header,
    validate_controls,
)
from litellm_semcache.ops.audit import Auditor
from litellm_semcache.ops.estimates import corrected_rate, estimate_rate, wilson_interval
from litellm_semcache.ops.metrics import Metrics, cell_field, parse_cell_field
from litellm_semcache.ops.prometheus import prometheus_text
from litellm_semcache.ops.snapshot import Snapshot
from litellm_semcache.pipeline import Prepared, prepare
from litellm_semcache.settings import SemCacheSettings
from litellm_semcache.types import Controls, Outcome
from litellm_semcache.verification.answers import CALIBRATION


def prepared(settings: SemCacheSettings, **controls: Any) -> Prepared | Outcome:
    body = {"model": "m", "messages": [{"role": "user", "content": "How do tides work?"}]}
    return prepare(get_format("chat"), body, settings, controls=Controls(**controls))


# --- which mode a request gets ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("deployment", "namespaces", "namespace", "asked", "expected"),
    [
        ("serve", {}, None, None, "serve"),
        ("shadow", {}, None, None, "shadow"),
        ("shadow", {"support": "serve"}, "support", None, "serve"),
        ("serve", {"trial": "shadow"}, "trial", None, "shadow"),
        ("serve", {}, None, "shadow", "shadow"),  # a request may be more careful
        ("shadow", {}, None, "serve", "shadow"),  # never less
        ("serve", {"trial": "shadow"}, "trial", "serve", "shadow"),
        ("serve", {}, None, "off", "off"),
        ("off", {}, None, "serve", "off"),
    ],
)
def test_the_mode_is_the_namespaces_or_the_deployments_and_a_request_may_only_be_more_careful(
    deployment: str, namespaces: dict[str, str], namespace: str | None, asked: str | None, expected: str
) -> None:
    settings = SemCacheSettings(mode=deployment, namespace_modes=namespaces)  # type: ignore[arg-type]
    result = prepared(settings, namespace=namespace, mode=asked)
    if expected == "off":
        assert isinstance(result, Outcome) and result.reason == "mode_off" and result.status == "skipped"
    else:
        assert isinstance(result, Prepared) and result.mode == expected


def test_the_mode_control_in_the_body_and_the_header() -> None:
    assert controls_of({"cache": {"mode": "shadow"}}).mode == "shadow"
    assert parse_control_header("mode=shadow, no-store") == {"mode": "shadow", "no-store": True}
    with pytest.raises(ValueError, match="cache.mode must be one of off, shadow, serve"):
        validate_controls({"cache": {"mode": "sometimes"}})
    with pytest.raises(ValueError, match="x-semcache-control.mode"):
        parse_control_header("mode=loud")
    assert controls_of({"cache": {"mode": "sometimes"}}).mode is None  # the SDK ignores a bad control


def test_a_shadow_outcome_says_what_the_cache_would_have_done_and_names_no_entry() -> None:
    would = status_of(Outcome("hit", "semantic", mode="shadow", score=0.97))
    assert would == {
        "status": "shadow",
        "reason": "hit:semantic",
        "verifier_score": 0.97,
        "policy": "default",
    }
    assert status_of(Outcome("miss", "below_threshold", mode="shadow"))["reason"] == "miss:below_threshold"
    assert status_of(Outcome("hit", "exact"))["status"] == "hit"


# --- audits -------------------------------------------------------------------------------------------------
def test_the_auditor_samples_the_configured_share() -> None:
    draws = iter([0.005, 0.5, 0.009, 0.02])
    auditor = Auditor(0.01, 4, draw=lambda: next(draws))
    assert [auditor.sample() for _ in range(4)] == [True, False, True, False]
    assert not Auditor(0.0, 4).sample() and Auditor(1.0, 4).sample()


async def test_the_auditor_runs_at_most_its_concurrency_in_the_background() -> None:
    auditor = Auditor(1.0, 2)
    release = asyncio.Event()
    finished: list[int] = []

    async def audit(number: int) -> None:
        await release.wait()
        finished.append(number)

    assert auditor.launch(audit(1)) and auditor.launch(audit(2))
    assert not auditor.launch(audit(3))  # busy: dropped, never queued
    assert auditor.running == 2
    release.set()
    await auditor.drain()
    assert sorted(finished) == [1, 2] and auditor.running == 0


def test_an_audit_resends_the_call_without_its_identity_headers_or_cache() -> None:
    kwargs = {
        "model": "openai/gpt-4o-mini",
        "messages": [{"role": "user", "content": "hi"}],
        "api_key": "sk-provider",
        "api_base": "http://upstream/v1",
        "temperature": 0.2,
        "stream": True,
        "metadata": {"user_api_key_hash": "abc", "semcache_prepared": "token"},
        "proxy_server_request": {"headers": {"authorization": "Bearer sk-client"}},
        "secret_fields": {"raw_headers": {"authorization": "Bearer sk-client"}},
        "litellm_logging_obj": object(),
        "litellm_call_id": "id",
        "cache": {"namespace": "x"},
    }
    call = audit_kwargs(kwargs, "chat")
    assert call["api_key"] == "sk-provider" and call["temperature"] == 0.2  # the same deployment and params
    assert call["metadata"] == {"semcache_audit": True}
    assert call["caching"] is False and call["cache"] == {"no-cache": True, "no-store": True}
    for gone in ("stream", "proxy_server_request", "secret_fields", "litellm_logging_obj", "litellm_call_id"):
        assert gone not in call
    body = {"input": "hi", "metadata": {"api": "field"}, "litellm_metadata": {}}
    responses = audit_kwargs(body, "responses")
    assert responses["metadata"] == {"api": "field"}  # the API's own field goes on
    assert responses["litellm_metadata"] == {"semcache_audit": True} and responses["store"] is False


def test_usage_of_every_api() -> None:
    assert usage_of({"usage": {"prompt_tokens": 10, "completion_tokens": 4}}) == (10, 4)
    assert usage_of({"usage": {"input_tokens": 7, "output_tokens": 3}}) == (7, 3)
    assert usage_of(None) == (0, 0)


# --- the estimate -------------------------------------------------------------------------------------------
def test_the_wilson_interval() -> None:
    low, high = wilson_interval(1, 10)
    assert (round(low, 4), round(high, 4)) == (0.0179, 0.4042)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(0, 100)
    assert low == pytest.approx(0.0, abs=1e-12) and 0.03 < high < 0.04


def test_the_estimate_corrects_for_the_comparisons_own_errors() -> None:
    # a comparison that calls 14.5% of right answers wrong sees 14.5% disagreements when none is wrong
    assert corrected_rate(CALIBRATION.false_disagree) == 0.0
    assert corrected_rate(1 - CALIBRATION.false_agree) == pytest.approx(1.0)
    estimate = estimate_rate(30, 100)
    assert estimate.observed == 0.3 and estimate.lower < estimate.estimate < estimate.upper
    assert estimate.estimate == pytest.approx(
        (0.3 - CALIBRATION.false_disagree) / (1 - CALIBRATION.false_agree - CALIBRATION.false_disagree)
    )
    assert estimate_rate(0, 0).as_dict()["compared"] == 0


# --- the counters -------------------------------------------------------------------------------------------
def test_cell_fields_keep_any_namespace() -> None:
    field = cell_field("shadow_hits", ('a:b|c "d"', "team:123"))
    assert parse_cell_field(field) == ("shadow_hits", ('a:b|c "d"', "team:123"))
    assert parse_cell_field("hit:exact") is None


def snapshot_of(metrics: Metrics) -> Snapshot:
    with metrics._lock:  # what a flush would add to the shared hash
        values = {**dict(metrics._counts), **dict(metrics._floats)}
    return Snapshot.from_hash({k: str(v) for k, v in values.items()})


def test_shadow_lookups_are_counted_apart_and_save_nothing() -> None:
    metrics = Metrics("t:stats")
    cell = ("default", "team:aaa")
    metrics.lookup("miss", "no_candidates", shadow=True, cell=cell)
    metrics.lookup("hit", "semantic", 0.93, 0.99, shadow=True, cell=cell)
    metrics.lookup("hit", "exact", 1.0, cell=cell)
    metrics.compared("shadow", "disagreed", cell)
    metrics.compared("audit", "agreed", cell)
    metrics.audit("agreed")
    metrics.audit("skipped_busy")
    metrics.feedback(False, cell)
    metrics.invalidated("feedback")
    summary = snapshot_of(metrics).summary()
    assert summary["hits"] == 1 and summary["misses"] == 0 and summary["hit_rate"] == 1.0
    shadow = summary["shadow"]
    assert shadow["lookups"] == 2 and shadow["would_be_hits"] == 1 and shadow["would_be_hit_rate"] == 0.5
    assert shadow["would_be_hits_semantic"] == 1 and shadow["wrong_hit_rate"]["disagreed"] == 1
    assert summary["audits"]["run"] == 1 and summary["audits"]["skipped_busy"] == 1
    assert summary["feedback"] == {"wrong": 1, "correct": 0} and summary["invalidated"] == {"feedback": 1}
    (row,) = summary["by_tenant"]
    assert row["namespace"] == "default" and row["tenant"] == "team:aaa"
    assert (row["lookups"], row["hits"], row["shadow_lookups"], row["would_be_hits"]) == (1, 1, 2, 1)
    assert row["shadow_wrong_hit_rate"]["compared"] == 1 and row["feedback_wrong"] == 1


def test_prometheus_serves_the_new_families() -> None:
    metrics = Metrics("t:stats")
    metrics.lookup("hit", "semantic", 0.9, shadow=True, cell=("ns", "team:x"))
    metrics.compared("shadow", "agreed", ("ns", "team:x"))
    metrics.audit("disagreed")
    text = prometheus_text(snapshot_of(metrics), "idx")
    names = {s.name for f in text_string_to_metric_families(text) for s in f.samples}
    assert {
        "semcache_requests_total",
        "semcache_shadow_lookups_total",
        "semcache_would_be_hit_ratio",
        "semcache_shadow_comparisons_total",
        "semcache_audits_total",
        "semcache_audit_tokens_total",
        "semcache_audit_cost_usd_total",
        "semcache_wrong_hit_rate",
        "semcache_feedback_total",
        "semcache_invalidated_total",
        "semcache_tenant_lookups_total",
        "semcache_tenant_wrong_hit_rate",
    } <= names
    assert 'semcache_requests_total{index="idx",outcome="shadow"} 1.0' in text


def test_tenant_metrics_can_be_switched_off() -> None:
    settings = SemCacheSettings(tenant_metrics=False)
    result = prepared(settings)
    assert isinstance(result, Prepared)
    from litellm_semcache.pipeline import Pipeline

    assert Pipeline.cell(type("P", (), {"settings": settings})(), result.scope) is None
    assert json.loads(json.dumps(SemCacheSettings().model_dump(mode="json")))["tenant_metrics"] is True
