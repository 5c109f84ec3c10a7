"""The cacheability classifier as the cache applies it: pinned decisions per class, and which rule
decided (``litellm-semcache classify``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from litellm_semcache.cli.classify import classify
from litellm_semcache.cli.main import main
from litellm_semcache.embedding import Embedder
from litellm_semcache.models.cacheability import DEFAULT_DIRECTORY as EMBEDDING_DIRECTORY
from litellm_semcache.models.cacheability import CacheabilityModel
from litellm_semcache.models.cacheability_text import DEFAULT_DIRECTORY as TEXT_DIRECTORY
from litellm_semcache.settings import SemCacheSettings


@pytest.mark.parametrize(
    ("text", "label", "cached"),
    [
        ("How do I close my account?", "general", True),  # personal phrasing, the same answer for all
        ("Why was my card payment declined?", "general", True),
        ("What is the capital of France?", "general", True),
        ("Explain how a hash map works in Python", "general", True),
        ("What is my account balance?", "private", False),
        ("how much money do i earn", "private", False),
        ("when is my next meeting", "private", False),
        ("what's the weather in Paris tomorrow", "live", False),
        ("what time is it in Tokyo right now", "live", False),
        ("flip a coin", "random", False),
        ("roll a die for me", "random", False),
    ],
)
def test_pinned_decisions(embedder: Embedder, text: str, label: str, cached: bool) -> None:
    (verdict,) = classify([text], SemCacheSettings(), embedder)  # the shipped defaults
    assert verdict.cacheable is cached, verdict
    (alone,) = classify([text], SemCacheSettings(never_cache_patterns=[]), embedder)
    assert (alone.cacheable, alone.label, alone.decided_by) == (cached, label, "classifier"), alone


@pytest.mark.parametrize(
    ("model", "directory"), [("text", TEXT_DIRECTORY), ("embedding", EMBEDDING_DIRECTORY)]
)
def test_the_cards_own_pinned_queries_still_decide_the_same(
    embedder: Embedder, model: str, directory: Path
) -> None:
    card: dict[str, Any] = json.loads((directory / "card.json").read_text())
    pinned = card["pinned"]
    # The classifier alone, as the card measured it.
    settings = SemCacheSettings(never_cache_patterns=[], cacheability_model=model)  # type: ignore[arg-type]
    verdicts = classify([p["text"] for p in pinned], settings, embedder)
    for entry, verdict in zip(pinned, verdicts, strict=True):
        assert verdict.label == entry["label"] or verdict.cacheable == (entry["label"] == "general"), entry
        if verdict.probability is not None and entry.get("probability") is not None:
            assert abs(verdict.probability - entry["probability"]) < 0.02, entry


def test_patterns_override_the_classifier_both_ways(embedder: Embedder) -> None:
    settings = SemCacheSettings(
        extra_never_cache_patterns=["secret sauce"], always_cache_patterns=["flip a coin"]
    )
    never, always = classify(["What is in the secret sauce recipe?", "flip a coin"], settings, embedder)
    assert (never.cacheable, never.decided_by) == (False, "pattern:secret sauce")
    assert (always.cacheable, always.decided_by) == (True, "always_cache_patterns")


def test_live_questions_may_be_cached_for_minutes(embedder: Embedder) -> None:
    (verdict,) = classify(
        ["what's the weather in Paris tomorrow"], SemCacheSettings(live_ttl_seconds=300), embedder
    )
    assert verdict.cacheable and verdict.label == "live" and "live_ttl_seconds 300" in verdict.decided_by


def test_the_classify_command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["classify", "How do I close my account?", "flip a coin", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["cacheable"] for line in lines] == [True, False]
    assert lines[1]["label"] == "random" and lines[1]["decided_by"] == "classifier"


def test_the_embedding_heads_length_features_count_words() -> None:
    """The "long" features are word counts (written so that a regex search stays linear in the text)."""
    model = CacheabilityModel.load()
    long_at = {name: i for i, name in enumerate(model.feature_names) if name in ("long", "very_long")}
    assert set(long_at) == {"long", "very_long"}
    for words, long, very_long in ((15, 0, 0), (16, 1, 0), (35, 1, 0), (36, 1, 1)):
        row = model.features([" ".join(["word"] * words) + "?"])[0] > 0
        assert (row[long_at["long"]], row[long_at["very_long"]]) == (long, very_long), words
