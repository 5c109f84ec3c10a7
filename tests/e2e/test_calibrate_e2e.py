"""The live proxy and `litellm-semcache calibrate` make the same decision for the same pair."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import numpy as np

from harness.services import FakeUpstream
from litellm_semcache.admission import PatternFilter
from litellm_semcache.embedding import Embedder, Embedding
from litellm_semcache.evaluation import PairSet, score_pairs
from litellm_semcache.settings import SemCacheSettings
from litellm_semcache.verification import Verifier
from tests.gateway import ProxyHarness

HARD_CASES = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "hard_cases.csv"


def _vector(embedding: Embedding) -> np.ndarray[Any, np.dtype[np.float32]]:
    assert embedding.vector is not None  # the hard cases are short: none is past the token limit
    return embedding.vector


def test_the_proxy_and_calibrate_decide_the_same_for_the_same_pair(
    gateway: ProxyHarness, upstream: FakeUpstream, embedder: Embedder
) -> None:
    with open(HARD_CASES, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    keep = PatternFilter.from_settings(SemCacheSettings())  # e.g. "what time is it" never reaches it
    cacheable = [r for r in rows if keep.match([r["a"], r["b"]]) is None]
    categories = (
        "number",
        "negation",
        "antonym",
        "unit_direction",
        "paraphrase",
        "paraphrase_edit",
        "entity_swap",
    )
    picked = [r for category in categories for r in [x for x in cacheable if x["category"] == category][:2]]
    pairs = PairSet([r["a"] for r in picked], [r["b"] for r in picked], [r["same"] == "1" for r in picked])
    vectors_a = np.stack([_vector(e) for e in embedder.encode_batch(pairs.a)])
    vectors_b = np.stack([_vector(e) for e in embedder.encode_batch(pairs.b)])
    defaults = SemCacheSettings()
    verifier = Verifier.from_settings(defaults)
    expected = []
    for i in range(len(picked)):
        single = PairSet([pairs.a[i]], [pairs.b[i]], [pairs.same[i]])
        (row,) = score_pairs(
            verifier, single, np.array([float(vectors_a[i] @ vectors_b[i])]), [defaults.similarity_threshold]
        )
        expected.append(row.hits == 1)

    observed = []
    for a, b in zip(pairs.a, pairs.b, strict=True):
        gateway.clear()
        gateway.proxy.chat("gpt-a", a)
        gateway.wait_for_entries(1)
        time.sleep(0.05)
        observed.append(gateway.proxy.chat("claude-b", b).cache_hit)
    assert observed == expected
    assert True in observed and False in observed  # the pairs exercise both outcomes
