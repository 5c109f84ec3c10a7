"""Learned verifier: a cross-encoder that reads a new query and a stored query together.

It scores "the stored query's answer answers the new query" as a probability. all-MiniLM-L6-v2 fine-tuned
as a pair classifier on Quora duplicates, same/different-intent pairs of Banking77, CLINC150 and HWU64,
hand-written hard pairs and synthetic edits (numbers, negations, swapped directions or entities, added
instructions). It runs in ONNX Runtime only (no torch import). The model, tokenizer and card ship in
``litellm_semcache/artifacts/verifier/``; ``training/verifier/`` rebuilds them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from .onnx import cpu_session

__all__ = ["DEFAULT_DIRECTORY", "CrossEncoderScorer"]

#: The shipped artifact: ``card.json``, the ONNX model and ``tokenizer.json``.
DEFAULT_DIRECTORY = Path(__file__).resolve().parent.parent / "artifacts" / "verifier"

_Probabilities = np.ndarray[Any, np.dtype[np.float32]]


class CrossEncoderScorer:
    """Scores (new query, stored query) pairs with the shipped cross-encoder.

    One ONNX Runtime session on one core: a call scores its pairs as one padded batch, which is
    what the hit path needs (the few candidates that passed the cosine gate, at once).
    """

    def __init__(self, session: Any, tokenizer: Any, card: dict[str, Any], batch_size: int = 64) -> None:
        self.version: str = str(card["version"])
        self.max_length: int = int(card["max_length"])
        self.card = card
        self._session = session
        self._tokenizer = tokenizer
        self._inputs = [i.name for i in session.get_inputs()]
        self._batch_size = batch_size

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
            card = json.loads((folder / "card.json").read_text(encoding="utf-8"))
            model_path = folder / str(card.get("model_file", "model.onnx"))
            if not model_path.is_file():
                raise FileNotFoundError(model_path)
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            max_length = int(card["max_length"])
            tokenizer.enable_truncation(max_length=max_length, strategy="longest_first")
            tokenizer.enable_padding(
                pad_id=int(card.get("pad_id", 0)), pad_token=str(card.get("pad_token", "[PAD]"))
            )
            session = cpu_session(model_path, max(1, threads), spin)
            scorer = cls(session, tokenizer, card)
            expected = [str(n) for n in card["input_names"]]
            if sorted(scorer._inputs) != sorted(expected):
                raise ValueError(f"model inputs {scorer._inputs} differ from the card's {expected}")
            scorer.score([("a check", "a check")])
        except ConfigError:
            raise
        except Exception as error:  # missing files, bad JSON, a corrupt model: all configuration errors
            raise ConfigError(f"verifier artifact in {folder} cannot be loaded: {error!r}") from error
        return scorer

    def score(self, pairs: Sequence[tuple[str, str]]) -> _Probabilities:
        """Probabilities that each stored query's answer answers its new query.

        Args:
            pairs: (new query, stored query) pairs.

        Returns:
            One probability in [0, 1] per pair, in order (an empty array for no pairs).
        """
        out = np.zeros(len(pairs), dtype=np.float32)
        if not pairs:
            return out
        # Sorted by length so that large calls pad little; one call of a few pairs is one batch.
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        for start in range(0, len(order), self._batch_size):
            chunk = order[start : start + self._batch_size]
            out[chunk] = self._logits([pairs[i] for i in chunk])
        probabilities: _Probabilities = (1.0 / (1.0 + np.exp(-np.clip(out, -60.0, 60.0)))).astype(np.float32)
        return probabilities

    def _logits(self, pairs: list[tuple[str, str]]) -> _Probabilities:
        encodings = self._tokenizer.encode_batch([(a, b) for a, b in pairs])
        columns = {
            "input_ids": [e.ids for e in encodings],
            "attention_mask": [e.attention_mask for e in encodings],
            "token_type_ids": [e.type_ids for e in encodings],
        }
        feeds = {name: np.asarray(columns[name], dtype=np.int64) for name in self._inputs}
        logits: _Probabilities = np.asarray(self._session.run(None, feeds)[0], dtype=np.float32).reshape(-1)
        return logits
