"""The text cacheability model as the request path runs it: batched off the event loop, loaded offline,
and failing closed with a clear error when its files are broken."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest

from litellm_semcache.admission.classifier import PREFIX_CHARS, ClassifierStage
from litellm_semcache.errors import ConfigError
from litellm_semcache.models.cacheability_text import DEFAULT_DIRECTORY, TextCacheabilityModel
from litellm_semcache.settings import SemCacheSettings

QUESTIONS = [
    "How do I close my account?",
    "what is my account balance",
    "is it going to rain in Paris tomorrow",
    "flip a coin",
    "Explain the difference between TCP and UDP.",
    "where is my package",
]


@pytest.fixture(scope="module")
def stage() -> ClassifierStage:
    built = ClassifierStage.from_settings(SemCacheSettings(redis_url="redis://unused"))
    assert built is not None and not built.reads_vector  # the default reads the words
    return built


async def test_concurrent_questions_share_batches_and_decide_as_one_by_one(stage: ClassifierStage) -> None:
    alone = [stage.decide_many([q])[0] for q in QUESTIONS]
    together = await asyncio.gather(*(stage.decide(q) for q in QUESTIONS))
    assert [(d.admitted, d.label) for d in together] == [(d.admitted, d.label) for d in alone]
    assert [d.admitted for d in together] == [True, False, False, False, True, False]
    for a, b in zip(alone, together, strict=True):
        # Dynamic int8 scales activations per batch: batch-mates move a probability by a few 1e-4 at most.
        assert abs(a.probability - b.probability) < 0.01


async def test_a_policy_reuses_the_model_with_its_own_classes(stage: ClassifierStage) -> None:
    lenient = stage.with_policy(SemCacheSettings(redis_url="redis://unused", keep_out_classes=["private"]))
    assert lenient.model is stage.model
    live = await lenient.decide("is it going to rain in Paris tomorrow")
    assert (live.admitted, live.label) == (True, "live")
    assert not (await stage.decide("is it going to rain in Paris tomorrow")).admitted
    assert lenient.fingerprint != stage.fingerprint  # entries admitted under one are decided again


@pytest.mark.parametrize("broken", ["model.onnx", "tokenizer.json", "card.json"])
def test_a_broken_artifact_is_a_clear_configuration_error(tmp_path: Path, broken: str) -> None:
    folder = tmp_path / "artifact"
    shutil.copytree(DEFAULT_DIRECTORY, folder)
    (folder / broken).write_bytes(b"not what it should be")
    with pytest.raises(ConfigError, match="cacheability model at .* cannot be loaded"):
        TextCacheabilityModel.load(folder)


async def test_the_store_after_a_miss_reuses_the_lookups_decision(monkeypatch: pytest.MonkeyPatch) -> None:
    stage = ClassifierStage.from_settings(SemCacheSettings(redis_url="redis://unused"))
    assert stage is not None
    model = stage.model
    assert isinstance(model, TextCacheabilityModel)
    passes: list[list[str]] = []
    probabilities = model.probabilities

    def counted(texts: list[str]) -> Any:
        passes.append(list(texts))
        return probabilities(texts)

    monkeypatch.setattr(model, "probabilities", counted)
    stage = ClassifierStage(model, stage.keep_out)  # a fresh worker calling the counted model
    first = await stage.decide("What is the boiling point of water?")
    again = await stage.decide("What is the boiling point of water?")
    assert first == again and len(passes) == 1  # one model pass per question, not one per step


async def test_a_huge_prompt_costs_the_classifier_a_bounded_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 200 kB whitespace-free blob is one "word": the classifier used to tokenize all of it in the worker
    thread every tenant shares (~40 ms each) and remember it whole. It reads a bounded beginning instead,
    and decides the same way every time (the exact-repeat fast path relies on that)."""
    stage = ClassifierStage.from_settings(SemCacheSettings(redis_url="redis://unused"))
    assert stage is not None and isinstance(stage.model, TextCacheabilityModel)
    model = stage.model
    read: list[str] = []
    probabilities = model.probabilities

    def recorded(texts: list[str]) -> Any:
        read.extend(texts)
        return probabilities(texts)

    monkeypatch.setattr(model, "probabilities", recorded)
    stage = ClassifierStage(model, stage.keep_out)
    blob = "Decode this base64 string: " + "QUJD" * 50_000
    first = await stage.decide(blob)
    again = await stage.decide(blob)
    assert first == again
    assert len(read) == 1 and len(read[0]) <= PREFIX_CHARS
    assert blob.startswith(read[0])
    assert all(len(key) <= PREFIX_CHARS for key in stage._recent)
