"""Learned verifier: a cross-encoder that reads a new query and a stored query together.

It scores "the stored query's answer answers the new query" as a probability. all-MiniLM-L6-v2 fine-tuned
as a pair classifier on Quora duplicates, same/different-intent pairs of Banking77, CLINC150 and HWU64,
hand-written hard pairs and synthetic edits (numbers, negations, swapped directions or entities, added
instructions). It runs in ONNX Runtime only (no torch import). The model, tokenizer and card ship in
``litellm_semcache/artifacts/verifier/``; ``training/verifier/`` rebuilds them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from .onnx import TokenizedModel

__all__ = ["DEFAULT_DIRECTORY", "CrossEncoderScorer"]

#: The shipped artifact: ``card.json``, the ONNX model and ``tokenizer.json``.
DEFAULT_DIRECTORY = Path(__file__).resolve().parent.parent / "artifacts" / "verifier"

_Probabilities = np.ndarray[Any, np.dtype[np.float32]]


class CrossEncoderScorer:
    """Scores (new query, stored query) pairs with the shipped cross-encoder.

    One ONNX Runtime session on one core: a call scores its pairs as one padded batch, which is
    what the hit path needs (the few candidates that passed the cosine gate, at once).
    """

    def __init__(self, model: TokenizedModel) -> None:
        self.card = model.card
        self.version: str = str(model.card["version"])
        self.max_length = model.max_length
        self._model = model

    @classmethod
    def load(cls, directory: Path | None = None, threads: int = 1, spin: bool = False) -> CrossEncoderScorer:
        """Read the card, the tokenizer and the ONNX model of an artifact folder (offline).

        Args:
            directory: The artifact folder; the shipped one when None.
            threads: Cores for one call (one: ``models/onnx.py`` says why).
            spin: Let idle worker threads spin (only with ``threads`` > 1; for the benchmarks' comparison).

        Returns:
            The scorer, ready to use.

        Raises:
            ConfigError: The folder, card, tokenizer or model are missing, unreadable or inconsistent.
        """
        folder = DEFAULT_DIRECTORY if directory is None else Path(directory)
        try:
            scorer = cls(TokenizedModel(folder, threads, spin))
            scorer.score([("a check", "a check")])
        except Exception as error:  # missing files, bad JSON, a corrupt model: all configuration errors
            raise ConfigError(f"verifier artifact in {folder} cannot be loaded: {error!r}") from error
        return scorer

    @property
    def session(self) -> Any:
        """The ONNX Runtime session (the training scripts swap in another model file)."""
        return self._model.session

    @session.setter
    def session(self, session: Any) -> None:
        self._model.session = session

    def score(self, pairs: Sequence[tuple[str, str]]) -> _Probabilities:
        """Probabilities that each stored query's answer answers its new query.

        Args:
            pairs: (new query, stored query) pairs.

        Returns:
            One probability in [0, 1] per pair, in order (an empty array for no pairs).
        """
        if not pairs:
            return np.zeros(0, dtype=np.float32)
        out = self._model.logits(list(pairs)).reshape(-1)
        probabilities: _Probabilities = (1.0 / (1.0 + np.exp(-np.clip(out, -60.0, 60.0)))).astype(np.float32)
        return probabilities
