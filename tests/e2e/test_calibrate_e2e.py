"""The live proxy and `litellm-semcache calibrate` make the same decision for the same pair."""

from __future__ import annotations

import csv
import time
from pathlib import Path

from harness.services import FakeUpstream
from litellm_semcache.cli.classify import classify
from litellm_semcache.embedding import Embedder
from litellm_semcache.evaluation import score_queries, sweep
from litellm_semcache.settings import SemCacheSettings
from litellm_semcache.store import Candidate
from litellm_semcache.verification import Verifier
from litellm_semcache.verification.learned import LearnedVerifier
from litellm_semcache.verification.profile import CalibrationProfile
from tests.gateway import ProxyHarness

HARD_CASES = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "hard_cases.csv"
CATEGORIES = (
    "number",
    "negation",
    "antonym",
    "unit_direction",
    "paraphrase",
    "paraphrase_edit",
    "entity_swap",
)


def test_the_proxy_and_calibrate_decide_the_same_for_the_same_pair(
    gateway: ProxyHarness, upstream: FakeUpstream, embedder: Embedder
) -> None:
    defaults = SemCacheSettings()
    with open(HARD_CASES, encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["category"] in CATEGORIES]
    admitted = {
        v.text
        for v in classify([t for r in rows for t in (r["a"], r["b"])], defaults, embedder)
        if v.cacheable
    }
    cacheable = [r for r in rows if r["a"] in admitted and r["b"] in admitted]
    picked = [r for category in CATEGORIES for r in [x for x in cacheable if x["category"] == category][:2]]
    texts = [r[k] for r in picked for k in "ab"]
    vectors = {
        t: e.vector for t, e in zip(texts, embedder.encode_batch(texts), strict=True) if e.vector is not None
    }
    candidates = [
        [
            Candidate(
                id="a",
                query=r["a"],
                similarity=float(vectors[r["a"]] @ vectors[r["b"]]),
                answer_id="a",
                created_at=0.0,
            )
        ]
        for r in picked
    ]
    # calibrate's evaluator, at the gates the proxy runs with (the shipped profile, the default target)
    scored = score_queries(
        Verifier.from_settings(defaults),
        LearnedVerifier.load().score_pairs,
        [r["b"] for r in picked],
        candidates,
        lambda q, c: True,
        [True] * len(picked),
        max_n=1,
    )
    gates = CalibrationProfile.load().gates(defaults.target_precision)
    expected = []
    for i in range(len(picked)):
        one = type(scored)(
            scored.similarity[i : i + 1],
            scored.rules[i : i + 1],
            scored.scores[i : i + 1],
            scored.correct[i : i + 1],
            scored.answerable[i : i + 1],
        )
        (row,) = sweep(one, [gates.gate], [1], [gates.score_threshold])
        expected.append(row.hits == 1)

    observed = []
    for r in picked:
        gateway.clear()
        gateway.proxy.chat("gpt-a", r["a"])
        gateway.wait_for_entries(1)
        time.sleep(0.05)
        observed.append(gateway.proxy.chat("claude-b", r["b"]).cache_hit)
    assert observed == expected
    assert True in observed and False in observed  # the pairs exercise both outcomes
