"""Knowing before serving, through the real proxy: shadow mode, sampled audits of served hits, the feedback
and delete routes, and the Grafana dashboard against a live `/semcache/metrics`.

One proxy for the module: keys map to teams through `custom_auth`; `audit_rate: 1.0` audits every served
hit; the `trial` namespace runs in shadow mode. The fake upstream echoes each question ("Answer #n from
openai: <question>"), so a different answer is made with its `/_control` endpoint.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from harness.services import FakeUpstream
from tests.gateway import ProxyHarness, start_harness

CUSTOM_AUTH = Path(__file__).with_name("custom_auth.py")
DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards" / "semcache.json"
SHADOW_NAMESPACE = "trial"


@pytest.fixture(scope="module")
def knowing_proxy(
    tmp_path_factory: pytest.TempPathFactory, fake_upstream: FakeUpstream, redis_url: str
) -> Iterator[ProxyHarness]:
    harness = start_harness(
        tmp_path_factory.mktemp("shadow"),
        fake_upstream,
        redis_url,
        custom_auth=CUSTOM_AUTH,
        audit_rate=1.0,
        namespace_modes={SHADOW_NAMESPACE: "shadow"},
        # The verifier is being retrained: near-identical paraphrases must hit whatever its scores.
        verifier_threshold=0.3,
    )
    yield harness
    harness.close()


@pytest.fixture
def proxy(knowing_proxy: ProxyHarness, upstream: FakeUpstream) -> ProxyHarness:
    knowing_proxy.clear()
    return knowing_proxy


def metrics(proxy: ProxyHarness) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """The live `/semcache/metrics`, by sample name and labels (the route adds this process's counts)."""
    scraped = httpx.get(f"{proxy.proxy.base_url}/semcache/metrics", timeout=10)
    assert scraped.status_code == 200, scraped.text
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(scraped.text):
        for sample in family.samples:
            labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "index"))
            samples.setdefault(sample.name, {})[labels] = sample.value
    return samples


def value(samples: dict[str, dict[tuple[tuple[str, str], ...], float]], name: str, **labels: str) -> float:
    return samples.get(name, {}).get(tuple(sorted(labels.items())), 0.0)


def eventually(check: Callable[[], bool], timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {timeout:.0f}s")
        time.sleep(0.1)


def audits_done(proxy: ProxyHarness, before: float, count: int = 1) -> Callable[[], bool]:
    def check() -> bool:
        samples = metrics(proxy)
        done = sum(value(samples, "semcache_audits_total", result=r) for r in ("agreed", "disagreed"))
        return done >= before + count

    return check


def audits_so_far(proxy: ProxyHarness) -> float:
    samples = metrics(proxy)
    return sum(value(samples, "semcache_audits_total", result=r) for r in ("agreed", "disagreed"))


def ask(proxy: ProxyHarness, text: str, key: str = "sk-team-a-1", **body: Any) -> Any:
    return proxy.proxy.chat("gpt-a", text, key=key, **body)


# --- shadow mode ------------------------------------------------------------------------------------------
def test_in_shadow_mode_a_paraphrase_reaches_the_provider_and_is_counted_as_a_would_be_hit(
    proxy: ProxyHarness, upstream: FakeUpstream
) -> None:
    before = metrics(proxy)
    trial = {"namespace": SHADOW_NAMESPACE}
    first = ask(proxy, "What is the capital of Peru?", cache=trial)
    assert first.headers["x-semcache-status"] == "shadow"
    assert first.headers["x-semcache-reason"].startswith("miss:")
    proxy.wait_for_entries(1)  # a would-be miss is stored, as in serve mode

    paraphrase = ask(proxy, "What's the capital city of Peru?", cache=trial)
    assert upstream.calls == 2  # the provider answered, not the cache
    assert not paraphrase.cache_hit
    assert paraphrase.text == "Answer #2 from openai: What's the capital city of Peru?"
    assert paraphrase.headers["x-semcache-status"] == "shadow"
    assert paraphrase.headers["x-semcache-reason"] in ("hit:semantic", "hit:exact")
    assert "x-semcache-entry-id" not in paraphrase.headers

    def compared() -> bool:
        now = metrics(proxy)
        return sum(
            value(now, "semcache_shadow_comparisons_total", result=r) for r in ("agreed", "disagreed")
        ) > sum(value(before, "semcache_shadow_comparisons_total", result=r) for r in ("agreed", "disagreed"))

    eventually(compared, what="the shadow comparison")
    after = metrics(proxy)
    would = value(after, "semcache_shadow_lookups_total", result="would_hit")
    assert would == value(before, "semcache_shadow_lookups_total", result="would_hit") + 1
    assert len(proxy.entry_keys()) == 1  # a would-be hit stores nothing, as a served hit would not
    assert value(after, "semcache_requests_total", outcome="hit") == value(
        before, "semcache_requests_total", outcome="hit"
    )  # nothing served, nothing saved


def test_a_request_asks_for_shadow_mode_but_never_for_serving_in_a_shadow_namespace(
    proxy: ProxyHarness, upstream: FakeUpstream
) -> None:
    ask(proxy, "How many legs does a spider have?")
    proxy.wait_for_entries(1)
    before = audits_so_far(proxy)
    shadowed = ask(proxy, "How many legs does a spider have?", cache={"mode": "shadow"})
    assert not shadowed.cache_hit and upstream.calls == 2
    assert shadowed.headers["x-semcache-status"] == "shadow"
    assert shadowed.headers["x-semcache-reason"] == "hit:exact"

    planet = "What is the largest planet in the solar system?"
    ask(proxy, planet, cache={"namespace": SHADOW_NAMESPACE})
    proxy.wait_for_entries(2)
    forced = ask(proxy, planet, cache={"namespace": SHADOW_NAMESPACE, "mode": "serve"})
    assert not forced.cache_hit and forced.headers["x-semcache-status"] == "shadow"
    off = ask(proxy, planet, cache={"mode": "off"})
    assert off.headers["x-semcache-status"] == "skipped" and off.headers["x-semcache-reason"] == "mode_off"
    assert upstream.calls == 5
    bad = ask(proxy, planet, cache={"mode": "sometimes"})
    assert bad.status == 400 and "cache.mode" in json.dumps(bad.body)
    assert audits_so_far(proxy) == before  # nothing was served, so nothing was audited


# --- audits -----------------------------------------------------------------------------------------------
def test_a_hit_is_answered_at_once_and_one_background_audit_follows(
    proxy: ProxyHarness, upstream: FakeUpstream
) -> None:
    question = "How does a vaccine work?"
    answer = "A vaccine trains the immune system to recognise a germ, so it can fight it off later."
    upstream.behave(content=answer)  # the provider gives the same answer each time it is asked
    miss = ask(proxy, question)
    proxy.wait_for_entries(1)
    before = metrics(proxy)
    upstream.behave(content=answer, delay_ms=3000, times=1)  # the audit's provider call is slow
    started = time.perf_counter()
    hit = ask(proxy, question)
    elapsed = time.perf_counter() - started
    assert hit.cache_hit and hit.text == miss.text
    assert elapsed < 2.0, elapsed  # the audit never delays the response
    eventually(lambda: upstream.calls == 2, what="the audit's provider call")
    eventually(audits_done(proxy, audits_so_far_from(before)), what="the audit")
    after = metrics(proxy)
    assert value(after, "semcache_audits_total", result="agreed") == (
        value(before, "semcache_audits_total", result="agreed") + 1
    )
    assert value(after, "semcache_audit_tokens_total") > value(before, "semcache_audit_tokens_total")
    assert upstream.calls == 2 and len(proxy.entry_keys()) == 1  # one audit call; the entry stays


def audits_so_far_from(samples: dict[str, dict[tuple[tuple[str, str], ...], float]]) -> float:
    return sum(value(samples, "semcache_audits_total", result=r) for r in ("agreed", "disagreed"))


def test_an_audit_that_disagrees_invalidates_the_entry(proxy: ProxyHarness, upstream: FakeUpstream) -> None:
    question = "What is the boiling point of water at sea level?"
    miss = ask(proxy, question)
    proxy.wait_for_entries(1)
    before = metrics(proxy)
    upstream.behave(content="Bananas are berries, botanically speaking, while strawberries are not.", times=1)
    hit = ask(proxy, question)
    assert hit.cache_hit and hit.text == miss.text  # the user got the cached answer
    eventually(audits_done(proxy, audits_so_far_from(before)), what="the audit")
    after = metrics(proxy)
    assert value(after, "semcache_audits_total", result="disagreed") == (
        value(before, "semcache_audits_total", result="disagreed") + 1
    )
    assert value(after, "semcache_invalidated_total", reason="audit") == (
        value(before, "semcache_invalidated_total", reason="audit") + 1
    )
    assert proxy.entry_keys() == []
    again = ask(proxy, question)
    assert not again.cache_hit and upstream.calls == 3


# --- feedback and delete ------------------------------------------------------------------------------------
def served_entry(proxy: ProxyHarness, upstream: FakeUpstream, question: str) -> str:
    """An entry served to team A (stored by one key, hit by another of the team); its audit (which
    agrees: the provider answers alike) awaited."""
    upstream.behave(content=f"Here is the answer to {question!r}.")
    ask(proxy, question, key="sk-team-a-1")
    proxy.wait_for_entries(1)
    before = audits_so_far(proxy)
    hit = ask(proxy, question, key="sk-team-a-2")
    assert hit.cache_hit
    eventually(audits_done(proxy, before), what="the hit's audit")
    return str(hit.headers["x-semcache-entry-id"])


def post_feedback(proxy: ProxyHarness, body: Any, key: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.post(f"{proxy.proxy.base_url}/semcache/feedback", json=body, headers=headers, timeout=30)


def test_feedback_needs_a_key_of_the_entrys_tenant_and_invalidates_the_entry(
    proxy: ProxyHarness, upstream: FakeUpstream
) -> None:
    entry_id = served_entry(proxy, upstream, "How many bones are in the adult human body?")
    wrong = {"entry_id": entry_id, "correct": False}
    assert post_feedback(proxy, wrong, None).status_code == 401
    assert post_feedback(proxy, wrong, "sk-unknown").status_code == 401
    other_team = post_feedback(proxy, wrong, "sk-team-b-1")
    assert other_team.status_code == 403, other_team.text
    assert len(proxy.entry_keys()) == 1
    before = metrics(proxy)
    done = post_feedback(proxy, wrong, "sk-team-a-1")
    assert done.status_code == 200, done.text
    assert done.json() == {"entry_id": entry_id, "correct": False, "invalidated": True}
    assert proxy.entry_keys() == []
    after = metrics(proxy)
    assert value(after, "semcache_feedback_total", verdict="wrong") == (
        value(before, "semcache_feedback_total", verdict="wrong") + 1
    )
    assert post_feedback(proxy, wrong, "sk-team-a-1").status_code == 404  # already gone
    malformed = post_feedback(proxy, {"entry_id": "../../etc", "correct": False}, "sk-team-a-1")
    assert malformed.status_code == 400


def test_delete_route_for_the_tenant_or_the_admin(proxy: ProxyHarness, upstream: FakeUpstream) -> None:
    entry_id = served_entry(proxy, upstream, "Who was the first person to walk on the Moon?")
    url = f"{proxy.proxy.base_url}/semcache/entries/{entry_id}"
    assert httpx.delete(url, timeout=30).status_code == 401
    other = httpx.delete(url, headers={"Authorization": "Bearer sk-team-b-1"}, timeout=30)
    assert other.status_code == 403
    admin = httpx.delete(url, headers={"Authorization": f"Bearer {proxy.proxy.master_key}"}, timeout=30)
    assert admin.status_code == 200 and admin.json() == {"entry_id": entry_id, "deleted": True}
    assert proxy.entry_keys() == []


# --- the dashboard ------------------------------------------------------------------------------------------
def dashboard_metric_names() -> set[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = [
        target["expr"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        if "expr" in target
    ]
    assert expressions, "the dashboard queries nothing"
    return {name for expr in expressions for name in re.findall(r"\bsemcache_[a-z_]+\b", expr)}


def test_the_dashboard_only_queries_metrics_the_exporter_serves(
    proxy: ProxyHarness, upstream: FakeUpstream
) -> None:
    upstream.behave(content="Rayleigh scattering makes the sky look blue.")
    ask(proxy, "What is my account number?")  # kept out: a reason label
    ask(proxy, "Why is the sky blue?")
    proxy.wait_for_entries(1)
    ask(proxy, "Why is the sky blue?")  # a hit, audited
    eventually(lambda: value(metrics(proxy), "semcache_audits_total", result="agreed") > 0, what="audit")
    scraped = httpx.get(f"{proxy.proxy.base_url}/semcache/metrics", timeout=10).text
    served = {s.name for f in text_string_to_metric_families(scraped) for s in f.samples}
    missing = dashboard_metric_names() - served
    assert not missing, f"the dashboard queries metrics the exporter does not serve: {sorted(missing)}"
