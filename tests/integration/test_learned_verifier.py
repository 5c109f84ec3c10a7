"""The learned verifier on the request path: where it runs, and what happens when it cannot."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from litellm_semcache.ops.admin import stats
from litellm_semcache.verification.profile import CalibrationProfile
from tests.builders import chat, completion


async def test_it_judges_only_candidates_past_the_vector_search(backend_factory: Any) -> None:
    backend = backend_factory()
    learned = backend.pipeline.verification.learned
    assert learned is not None
    question = chat("What is the capital of France?")
    await backend.async_set_cache("k", completion("Paris."), **question)
    before = learned.pairs_scored
    assert (await backend.lookup(chat("What is the capital of France?"))).reason == "exact"
    assert (await backend.lookup(chat("How do volcanoes form?"))).status == "miss"  # nothing near
    assert (await backend.lookup(chat("What is my account balance?"))).status == "filtered"
    assert learned.pairs_scored == before  # never on exact repeats, clear misses or kept-out questions
    paraphrase = chat("Which city is the capital of France?")
    found = await backend.lookup(paraphrase)
    assert learned.pairs_scored > before and found.score is not None
    assert paraphrase["metadata"]["semcache"]["verifier_score"] == round(found.score, 4)


async def test_without_the_verifier_semantic_hits_stop_and_exact_repeats_serve(
    backend_factory: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="litellm_semcache"):
        backend = backend_factory(verifier_model=tmp_path / "no-such-model")
    assert any("learned verifier is unavailable" in r.getMessage() for r in caplog.records)
    await backend.async_set_cache("k", completion("Paris."), **chat("What is the capital of France?"))
    assert (await backend.lookup(chat("What is the capital of France?"))).reason == "exact"
    missed = await backend.lookup(chat("Which city is the capital of France?"))
    assert (missed.status, missed.reason) == ("miss", "verifier_unavailable")  # no weaker check instead
    await backend.metrics.flush(backend.store.client())
    problems = (await stats(backend.store)).summary()["problems"]
    assert problems["verifier_unavailable"]["processes"] == 1
    assert "semantic hits are off" in problems["verifier_unavailable"]["message"]


async def test_a_profile_measured_with_another_verifier_is_refused(
    backend_factory: Any, tmp_path: Path
) -> None:
    shipped = CalibrationProfile.load()
    stale = tmp_path / "profile.json"
    stale.write_text(json.dumps({**shipped.model_dump(), "verifier": "0.0.1"}))
    backend = backend_factory(calibration_profile=stale)
    assert "recalibrate" in (backend.pipeline.verification.unavailable or "")


async def test_a_policy_reads_its_own_profile_and_only_it_loses_hits_to_a_stale_one(
    backend_factory: Any, tmp_path: Path
) -> None:
    shipped = CalibrationProfile.load()
    # A team's own profile, stricter than the shipped one at every target (its data said so).
    strict = tmp_path / "strict.json"
    rows = [{**row.model_dump(), "score_threshold": 0.9999} for row in shipped.rows]
    strict.write_text(json.dumps({**shipped.model_dump(), "rows": rows}))
    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps({**shipped.model_dump(), "verifier": "0.0.1"}))
    backend = backend_factory(
        policies=[
            {"name": "strict", "match": {"model_groups": ["legal"]}, "calibration_profile": strict},
            {"name": "stale", "match": {"model_groups": ["old"]}, "calibration_profile": stale},
        ]
    )
    for group in ("gpt-a", "legal", "old"):
        await backend.async_set_cache(
            "k", completion("Paris."), **chat("What is the capital of France?", group=group)
        )
    paraphrase = "Which city is the capital of France?"
    assert (await backend.lookup(chat(paraphrase))).reason == "semantic"  # the block's shipped profile
    refused = await backend.lookup(chat(paraphrase, group="legal"))
    assert refused.status == "miss" and refused.reason == "verifier"  # judged, below the team's bar
    stale_miss = await backend.lookup(chat(paraphrase, group="old"))
    assert (stale_miss.status, stale_miss.reason) == ("miss", "verifier_unavailable")
    exact = await backend.lookup(chat("What is the capital of France?", group="old"))
    assert exact.reason == "exact"  # exact repeats still serve under the stale policy
    await backend.metrics.flush(backend.store.client())
    problems = (await stats(backend.store)).summary()["problems"]
    assert set(problems) == {"verifier_unavailable:stale"}
    assert "recalibrate" in problems["verifier_unavailable:stale"]["message"]
