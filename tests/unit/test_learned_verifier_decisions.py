"""The shipped learned verifier's decisions on a few fixed pairs, through the same Verification the
pipeline runs (the rule stages first, then the model at the profile's gates for the default target)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from litellm_semcache.models.cross_encoder import DEFAULT_DIRECTORY
from litellm_semcache.settings import SemCacheSettings
from litellm_semcache.store import Candidate
from litellm_semcache.verification.decision import Verification


@pytest.fixture(scope="module")
def verification() -> Iterator[Verification]:
    loaded = Verification.from_settings(SemCacheSettings())
    assert loaded.unavailable is None and loaded.learned is not None
    yield loaded


def candidate(query: str, similarity: float = 0.9) -> Candidate:
    return Candidate(id=query, query=query, similarity=similarity, answer_id=query, created_at=0.0)


SERVED = [
    ("What is the highest mountain in the world?", "What is the tallest mountain in the world?"),
    ("What's the biggest ocean on the planet?", "Which is the largest ocean on Earth?"),
    ("I forgot my password, how can I change it?", "How do I reset my password?"),
    ("What's the capital of France?", "What is the capital of France?"),  # a contraction is no change
    ("Which city is the capital of France?", "What is the capital of France?"),
]
REFUSED = [
    ("How many legs does an insect have?", "How many legs does a spider have?", "verifier"),
    ("What is the capital of Germany?", "What is the capital of France?", "contrast:entity"),
    ("Answer like a pirate: How does a vaccine work?", "How does a vaccine work?", "contrast:instruction"),
    ("Convert 100 F to C", "Convert 100 C to F", "contrast:direction"),
    ("What animals do snakes eat?", "What animals eat snakes?", "verifier"),
    # the model alone would serve this one (0.95): the payload guard refuses it before the model sees it
    (
        "What does this SQL do: SELECT * FROM users WHERE age < 30",
        "What does this SQL do: SELECT * FROM users WHERE age > 30",
        "contrast:payload",
    ),
]


@pytest.mark.parametrize(("asked", "stored"), SERVED)
async def test_paraphrases_are_served(verification: Verification, asked: str, stored: str) -> None:
    verdict = await verification.decide(asked, [candidate(stored)])
    assert verdict.hit is not None, (verdict.reason, verdict.score)
    assert verdict.score is not None and verdict.score >= verification.gates.score_threshold


@pytest.mark.parametrize(("asked", "stored", "reason"), REFUSED)
async def test_other_questions_are_refused(
    verification: Verification, asked: str, stored: str, reason: str
) -> None:
    verdict = await verification.decide(asked, [candidate(stored)])
    said = verdict.reason if verdict.detail is None else f"{verdict.reason}:{verdict.detail}"
    assert verdict.hit is None and said == reason, (said, verdict.score)


def test_the_shipped_card_records_what_the_shipped_model_decides(verification: Verification) -> None:
    """The card's pinned scores were measured on this artifact (a model swapped without a new card fails)."""
    assert verification.learned is not None
    card = json.loads((DEFAULT_DIRECTORY / "card.json").read_text())
    assert card["version"] == verification.learned.version
    scorer = verification.learned.scorer
    for pinned in card["pinned"]:
        (score,) = scorer.score([(pinned["new"], pinned["stored"])])
        assert float(score) == pytest.approx(pinned["score"], abs=0.02), pinned["new"]
