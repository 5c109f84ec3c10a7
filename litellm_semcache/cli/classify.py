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

from ..admission import Admission
from ..admission.classifier import ClassifierStage, classifier_text
from ..embedding import Embedder
from ..formats import get_format
from ..settings import SemCacheSettings
from ..types import ParsedQuery

__all__ = ["Verdict", "add_classify_parser", "classify", "run_classify"]


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


def classify(texts: list[str], settings: SemCacheSettings, embedder: Embedder | None = None) -> list[Verdict]:
    """The cache's decision for each text.

    Raises:
        ConfigError: the classifier (switched on) or the embedding model cannot be loaded.
    """
    admission = Admission.from_settings(settings)
    stage = ClassifierStage.from_settings(settings)
    chat = get_format("chat")
    verdicts = []
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
            vectors = None
            if stage.reads_vector:
                embedder = embedder or Embedder(
                    settings.embedding_model, max_chars=settings.max_embedded_chars
                )
                (embedding,) = embedder.encode_batch([classifier_text(text)])
                assert embedding.vector is not None
                vectors = embedding.vector.reshape(1, -1)
            (decision,) = stage.decide_many([text], vectors)
            rule = "classifier" + (
                f" (live_ttl_seconds {decision.ttl_seconds})" if decision.ttl_seconds else ""
            )
            verdicts.append(Verdict(text, decision.admitted, decision.label, decision.probability, rule))
    return verdicts


def run_classify(args: argparse.Namespace, settings: SemCacheSettings) -> int:
    """Run the ``classify`` command; returns the exit status."""
    for verdict in classify(list(args.texts), settings):
        if args.json:
            print(json.dumps(asdict(verdict), ensure_ascii=False))
            continue
        probability = f"{verdict.probability:.3f}" if verdict.probability is not None else "-"
        cached = "cached" if verdict.cacheable else "kept out"
        print(f"{cached:<9} {verdict.label:<8} {probability:>6}  {verdict.decided_by:<28} {verdict.text}")
    return 0
