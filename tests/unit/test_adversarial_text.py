"""Texts built to make a regular expression backtrack: each was quadratic (seconds to minutes on the
request path, on the event loop or in a thread every tenant shares) and is now linear. The time bounds
only catch that hang, with a margin of 1,000x over today's cost; they are not speed targets."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from litellm_semcache.admission.classifier import ClassifierStage
from litellm_semcache.formats.base import pieces
from litellm_semcache.settings import SemCacheSettings
from litellm_semcache.verification.contrast import named_words

T = TypeVar("T")


def finishes(work: Callable[[], T], seconds: float = 2.0) -> T:
    started = time.perf_counter()
    result = work()
    assert time.perf_counter() - started < seconds, "quadratic again?"
    return result


def test_a_whitespace_free_blob_through_the_embedding_head() -> None:
    """~11 s for 30 kB (minutes for 150 kB): the head's word-count features retried every position."""
    stage = ClassifierStage.from_settings(
        SemCacheSettings(redis_url="redis://unused", cacheability_model="embedding")
    )
    assert stage is not None and stage.reads_vector
    vector = np.full((1, 384), 1 / np.sqrt(384), dtype=np.float32)
    blob = "Decode this base64 string: " + "QUJD" * 7_500
    (decision,) = finishes(lambda: stage.decide_many([blob], vector))
    assert decision.label in stage.model.classes


def test_a_question_padded_with_blank_lines_through_the_contrast_guard() -> None:
    """~34 s for 40,000 newlines (per candidate compared): the sentence-start search retried each one."""
    text = "Tell me about Rome. Who is Paris Hilton?" + "\n" * 40_000
    assert finishes(lambda: named_words(text)) == {"paris", "hilton", "rome"}


def test_an_answer_of_blank_runs_replayed_as_a_stream() -> None:
    """~10 s for 40,000 blanks: the piece pattern retried each one."""
    answer = " \n" * 20_000
    assert finishes(lambda: pieces(answer)) == [answer]
    assert "".join(pieces("  Paris is\n the capital.  ")) == "  Paris is\n the capital.  "
