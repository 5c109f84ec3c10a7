"""Policies per use case through the real proxy: one gateway, three apps, three risks."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.services import FakeUpstream, model_list
from tests.e2e.test_production_e2e import cli
from tests.gateway import ProxyHarness, start_harness

CUSTOM_AUTH = Path(__file__).with_name("custom_auth.py")
QUESTION = "What is the capital of France?"
PARAPHRASE = "Can you tell me the capital of France?"

POLICIES: list[dict[str, Any]] = [
    {"name": "faq", "match": {"model_groups": ["faq-bot"]}, "mode": "serve", "ttl_seconds": 86400},
    {"name": "clinical", "match": {"model_groups": ["clinical"]}, "mode": "exact_only", "isolation": "key"},
    {"name": "legal", "match": {"model_groups": ["legal"], "key_aliases": ["legal-app"]}, "mode": "off"},
]


def groups(upstream: FakeUpstream, *names: str) -> list[dict[str, Any]]:
    """Model groups served by the fake upstream, like the stock `gpt-a`."""
    (gpt,) = [m for m in model_list(upstream) if m["model_name"] == "gpt-a"]
    return [{"model_name": name, "litellm_params": dict(gpt["litellm_params"])} for name in names]


@pytest.fixture(scope="module")
def policy_proxy(
    tmp_path_factory: pytest.TempPathFactory, fake_upstream: FakeUpstream, redis_url: str
) -> Iterator[ProxyHarness]:
    from litellm_semcache.admission.calibration import CacheabilityCalibration
    from litellm_semcache.models.cacheability_text import TextCacheabilityModel

    work = tmp_path_factory.mktemp("policies")
    # The support desk's own fit of the classifier (as `calibrate --write-calibration` writes it).
    calibration = work / "support-calibration.json"
    version = TextCacheabilityModel.load().version
    CacheabilityCalibration(model=version, general_shift=4.0, keep_out_budget=0.05, source="t").write(
        calibration
    )
    support = {
        "name": "support",
        "match": {"model_groups": ["support-bot"]},
        "cacheability_calibration": str(calibration),
    }
    harness = start_harness(
        work,
        fake_upstream,
        redis_url,
        custom_auth=CUSTOM_AUTH,
        extra_models=groups(fake_upstream, "faq-bot", "clinical", "legal", "support-bot"),
        policies=[*POLICIES, support],
    )
    yield harness
    harness.close()


@pytest.fixture
def proxy(policy_proxy: ProxyHarness, upstream: FakeUpstream) -> ProxyHarness:
    policy_proxy.clear()
    return policy_proxy


def test_a_paraphrase_hits_for_the_faq_bot(proxy: ProxyHarness, upstream: FakeUpstream) -> None:
    first = proxy.proxy.chat("faq-bot", QUESTION, key="sk-team-a-1")
    assert first.headers["x-semcache-policy"] == "faq"
    proxy.wait_for_entries(1)
    again = proxy.proxy.chat("faq-bot", PARAPHRASE, key="sk-team-a-2")
    assert again.cache_hit and again.text == first.text and upstream.calls == 1
    assert (again.headers["x-semcache-reason"], again.headers["x-semcache-policy"]) == ("semantic", "faq")


def test_the_clinical_assistant_serves_exact_repeats_only(
    proxy: ProxyHarness, upstream: FakeUpstream
) -> None:
    first = proxy.proxy.chat("clinical", QUESTION, key="sk-team-a-1")
    proxy.wait_for_entries(1)
    paraphrase = proxy.proxy.chat("clinical", PARAPHRASE, key="sk-team-a-1")
    assert not paraphrase.cache_hit and upstream.calls == 2
    assert paraphrase.headers["x-semcache-reason"] == "exact_only"
    assert paraphrase.headers["x-semcache-policy"] == "clinical"
    repeat = proxy.proxy.chat("clinical", QUESTION, key="sk-team-a-1")
    assert repeat.cache_hit and repeat.text == first.text and repeat.headers["x-semcache-reason"] == "exact"
    # isolation per key: a team-mate's key does not see it
    colleague = proxy.proxy.chat("clinical", QUESTION, key="sk-team-a-2")
    assert not colleague.cache_hit


def test_the_legal_app_is_never_looked_up_nor_stored(proxy: ProxyHarness, upstream: FakeUpstream) -> None:
    for _ in range(2):
        answer = proxy.proxy.chat("legal", QUESTION, key="sk-team-a-1")
        assert answer.status == 200 and not answer.cache_hit
        assert (answer.headers["x-semcache-status"], answer.headers["x-semcache-reason"]) == (
            "skipped",
            "mode_off",
        )
        assert answer.headers["x-semcache-policy"] == "legal"
    assert upstream.calls == 2
    proxy.assert_nothing_stored()


def test_entries_of_one_policy_never_serve_another(proxy: ProxyHarness, upstream: FakeUpstream) -> None:
    proxy.proxy.chat("faq-bot", QUESTION, key="sk-team-a-1")
    proxy.wait_for_entries(1)
    clinical = proxy.proxy.chat("clinical", QUESTION, key="sk-team-a-1")
    assert not clinical.cache_hit and upstream.calls == 2


def test_a_key_tied_to_a_policy_gets_it_whatever_the_model_group(
    proxy: ProxyHarness, upstream: FakeUpstream
) -> None:
    proxy.proxy.chat("faq-bot", QUESTION, key="sk-team-a-clinical")
    proxy.wait_for_entries(1)
    paraphrase = proxy.proxy.chat("faq-bot", PARAPHRASE, key="sk-team-a-clinical")
    assert paraphrase.headers["x-semcache-policy"] == "clinical"
    assert not paraphrase.cache_hit and paraphrase.headers["x-semcache-reason"] == "exact_only"
    # by its alias (first match wins: on a group no earlier policy claims)
    aliased = proxy.proxy.chat("gpt-a", QUESTION, key="sk-team-a-legal-app")
    assert aliased.headers["x-semcache-policy"] == "legal" and not aliased.cache_hit
    assert upstream.calls == 3


def test_stats_break_down_by_policy(proxy: ProxyHarness) -> None:
    proxy.proxy.chat("faq-bot", QUESTION, key="sk-team-a-1")
    proxy.wait_for_entries(1)
    proxy.proxy.chat("faq-bot", PARAPHRASE, key="sk-team-a-1")
    proxy.proxy.chat("legal", QUESTION, key="sk-team-a-1")
    time.sleep(1.5)  # counters are flushed to Redis about once a second
    redis_url = proxy.redis.connection_pool.connection_kwargs
    out = cli(f"redis://{redis_url['host']}:{redis_url['port']}", proxy.index_name, "stats", "--json")
    by_policy = json.loads(out.stdout)["by_policy"]
    assert by_policy["faq"]["hit"] >= 1 and by_policy["faq"]["miss"] >= 1
    assert by_policy["legal"]["skipped"] >= 1
    text = cli(f"redis://{redis_url['host']}:{redis_url['port']}", proxy.index_name, "stats").stdout
    assert "by policy:" in text and "faq" in text


def test_a_policy_naming_an_unknown_model_group_stops_the_proxy(
    tmp_path: Path, fake_upstream: FakeUpstream, redis_url: str
) -> None:
    wrong = [{"name": "faq", "match": {"model_groups": ["faq-bott"]}}]
    with pytest.raises(RuntimeError, match=r"policies.*faq-bott"):
        start_harness(tmp_path, fake_upstream, redis_url, policies=wrong)


def test_a_malformed_policy_stops_the_proxy_naming_the_field(
    tmp_path: Path, fake_upstream: FakeUpstream, redis_url: str
) -> None:
    malformed = [{"name": "faq", "match": {"model_groups": ["gpt-a"]}, "mode": "sometimes"}]
    with pytest.raises(RuntimeError, match=r"policies\.0\.mode"):
        start_harness(tmp_path, fake_upstream, redis_url, policies=malformed)


def test_the_support_desks_calibration_caches_its_questions_and_no_one_elses(
    proxy: ProxyHarness, upstream: FakeUpstream
) -> None:
    question = "When will my card be activated?"  # general for a support desk; the default keeps it out
    first = proxy.proxy.chat("support-bot", question, key="sk-team-a-1")
    assert first.headers["x-semcache-policy"] == "support"
    proxy.wait_for_entries(1)
    again = proxy.proxy.chat("support-bot", question, key="sk-team-a-2")
    assert again.cache_hit and again.text == first.text and upstream.calls == 1
    # The FAQ bot keeps the shipped decision: the same words stay out of its cache.
    for _ in range(2):
        other = proxy.proxy.chat("faq-bot", question, key="sk-team-a-1")
        assert not other.cache_hit and other.headers["x-semcache-reason"].startswith("class:")
    assert upstream.calls == 3
    # And the support desk's looser fit still keeps the asker's own data out.
    for _ in range(2):
        private = proxy.proxy.chat("support-bot", "What is my account balance?", key="sk-team-a-1")
        assert not private.cache_hit and private.headers["x-semcache-reason"].startswith("class:")
    assert upstream.calls == 5
