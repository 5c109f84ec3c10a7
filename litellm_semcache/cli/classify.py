"""``litellm-semcache classify``: what the cache would do with questions, and which rule decided.

No Redis needed: each text is read as a single-question chat request, run through the admission (shape
rules, ``never_cache_patterns``, ``always_cache_patterns``) and, for what passes, the cacheability
classifier (on its text, or on its embedding with ``cacheability_model: embedding``), with the settings of
the proxy's config.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..admission import Admission
from ..admission.classifier import ClassifierStage, classifier_text
from ..embedding import Embedder
from ..formats import get_format
from ..policies import named_policy_settings
from ..settings import SemCacheSettings
from ..types import ParsedQuery

__all__ = [
    "Verdict",
    "add_classify_parser",
    "before_classifier",
    "classify",
    "embedder_for",
    "question_vectors",
    "run_classify",
]


@dataclass(frozen=True)
class Verdict:
    """What the cache does with one question."""

    text: str
    cacheable: bool
    label: str
    probability: float | None
    decided_by: str


def add_classify_parser(commands: Any) -> None:
    """The ``classify`` subcommand."""
    parser = commands.add_parser("classify", help="would these questions be cached? class, score, rule")
    parser.add_argument("texts", nargs="+", metavar="TEXT", help="questions as users would ask them")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument(
        "--policy", metavar="NAME", help="decide as for requests under this policy (its classes, calibration)"
    )


def classify(texts: list[str], settings: SemCacheSettings, embedder: Embedder | None = None) -> list[Verdict]:
    """The cache's decision for each text.

    Raises:
        ConfigError: the classifier (switched on) or the embedding model cannot be loaded.
    """
    stage = ClassifierStage.from_settings(settings)
    verdicts = before_classifier(texts, settings, stage)
    pending = [i for i, v in enumerate(verdicts) if v is None]
    if stage is not None and pending:
        embedder = embedder_for(stage, settings, embedder)
        # One question per model call, as the proxy meets a lone request (int8 activations are scaled
        # per batch, so a batch could move a borderline decision).
        for i in pending:
            (decision,) = stage.decide_many([texts[i]], question_vectors(stage, [texts[i]], embedder))
            rule = "classifier" + (
                f" (live_ttl_seconds {decision.ttl_seconds})" if decision.ttl_seconds else ""
            )
            verdicts[i] = Verdict(texts[i], decision.admitted, decision.label, decision.probability, rule)
    return [v for v in verdicts if v is not None]


def before_classifier(
    texts: list[str], settings: SemCacheSettings, stage: ClassifierStage | None
) -> list[Verdict | None]:
    """Each text's verdict from the rules that run before the classifier (request shape,
    ``never_cache_patterns``, ``always_cache_patterns``); None where the classifier decides."""
    admission = Admission.from_settings(settings)
    chat = get_format("chat")
    verdicts: list[Verdict | None] = []
    for text in texts:
        parsed = chat.parse({"messages": [{"role": "user", "content": text}]}, settings)
        if not isinstance(parsed, ParsedQuery):
            verdicts.append(Verdict(text, False, "-", None, f"skipped:{parsed.reason}"))
            continue
        refused = admission.check(parsed)
        if refused is not None:
            verdicts.append(Verdict(text, False, "-", None, refused.reason_text))
        elif admission.exempt(parsed):
            verdicts.append(Verdict(text, True, "-", None, "always_cache_patterns"))
        elif stage is None:
            verdicts.append(Verdict(text, True, "-", None, "classifier off"))
        else:
            verdicts.append(None)
    return verdicts


def embedder_for(
    stage: ClassifierStage, settings: SemCacheSettings, embedder: Embedder | None = None
) -> Embedder | None:
    """The embedder the embedding head reads (made once per command); None for the text model."""
    if not stage.reads_vector:
        return None
    return embedder or Embedder(settings.embedding_model, max_chars=settings.max_embedded_chars)


def question_vectors(
    stage: ClassifierStage, texts: list[str], embedder: Embedder | None
) -> np.ndarray[Any, Any] | None:
    """The embeddings the embedding head reads (None for the text model, which reads the words)."""
    if not stage.reads_vector:
        return None
    assert embedder is not None, "embedder_for() gives the embedding head its embedder"
    vectors = [e.vector for e in embedder.encode_batch([classifier_text(t) for t in texts])]
    assert all(v is not None for v in vectors)  # the classifier's reading is short enough to embed
    return np.stack(vectors)  # type: ignore[arg-type]


def run_classify(args: argparse.Namespace, settings: SemCacheSettings) -> int:
    """Run the ``classify`` command; returns the exit status."""
    if args.policy:
        settings = named_policy_settings(settings, args.policy)
    for verdict in classify(list(args.texts), settings):
        if args.json:
            print(json.dumps(asdict(verdict), ensure_ascii=False))
            continue
        probability = f"{verdict.probability:.3f}" if verdict.probability is not None else "-"
        cached = "cached" if verdict.cacheable else "kept out"
        print(f"{cached:<9} {verdict.label:<8} {probability:>6}  {verdict.decided_by:<28} {verdict.text}")
    return 0
