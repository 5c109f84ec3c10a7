"""Cacheability classifier that reads the words: all-MiniLM-L6-v2 fine-tuned end to end on the four classes.

The embedding head (``models/cacheability.py``) reads the lookup's sentence vector, which has already
averaged away much of what separates "what's my balance" from "how do I check a balance"; this model reads
the query's tokens. It costs one small transformer pass per classified query (int8 ONNX, one core, batched
with concurrent requests), measured in ``benchmarks/cacheability.py``. Same classes, calibration and
decision rule as the embedding head. The model, tokenizer and card ship in
``litellm_semcache/artifacts/cacheability_text/``; ``training/cacheability/train_text.py`` and
``export_text.py`` rebuild them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from .cacheability import DecisionRule, Prediction
from .onnx import cpu_session

__all__ = ["DEFAULT_DIRECTORY", "TextCacheabilityModel"]

#: The shipped artifact: ``card.json``, the ONNX model and ``tokenizer.json``.
DEFAULT_DIRECTORY = Path(__file__).resolve().parent.parent / "artifacts" / "cacheability_text"

_Array = np.ndarray[Any, np.dtype[np.float32]]


class TextCacheabilityModel(DecisionRule):
    """A sequence classifier over the query's text, with the card's calibrated softmax and thresholds."""

    def __init__(self, session: Any, tokenizer: Any, card: dict[str, Any], batch_size: int = 64) -> None:
        super().__init__(card)
        self.max_length = int(card["max_length"])
        self.card = card
        self._session = session
        self._tokenizer = tokenizer
        self._inputs = [i.name for i in session.get_inputs()]
        self._batch_size = batch_size

    @classmethod
    def load(cls, directory: Path | None = None, threads: int = 1) -> TextCacheabilityModel:
        """Read the card, the tokenizer and the ONNX model of an artifact folder (offline).

        Args:
            directory: The artifact folder; the shipped one when None.
            threads: Cores for one call (one, as the verifier: ``models/onnx.py`` says why).

        Returns:
            The model, ready to predict.

        Raises:
            ConfigError: The folder, card, tokenizer or model are missing, unreadable or inconsistent.
        """
        folder = DEFAULT_DIRECTORY if directory is None else Path(directory)
        where = f"cacheability model at {folder}"
        try:
            card = json.loads((folder / "card.json").read_text(encoding="utf-8"))
            model_path = folder / str(card.get("model_file", "model.onnx"))
            if not model_path.is_file():
                raise FileNotFoundError(model_path)
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            tokenizer.enable_truncation(max_length=int(card["max_length"]))
            tokenizer.enable_padding(
                pad_id=int(card.get("pad_id", 0)), pad_token=str(card.get("pad_token", "[PAD]"))
            )
            model = cls(cpu_session(model_path, max(1, threads)), tokenizer, card)
            model.validate(where)
            if sorted(model._inputs) != sorted(str(n) for n in card["input_names"]):
                raise ValueError(f"model inputs {model._inputs} differ from the card's {card['input_names']}")
            if model.probabilities(["a check"]).shape != (1, len(model.classes)):
                raise ValueError(f"model output does not match classes {model.classes}")
        except ConfigError:
            raise
        except Exception as error:  # missing files, bad JSON, a corrupt model: all configuration errors
            raise ConfigError(f"{where} cannot be loaded: {error!r}") from error
        return model

    def probabilities(self, texts: Sequence[str]) -> _Array:
        """Calibrated class probabilities, one row per text (columns in ``classes`` order)."""
        if isinstance(texts, str):
            raise ValueError("expected a sequence of texts, got one string")
        out = np.zeros((len(texts), len(self.classes)), dtype=np.float32)
        # Sorted by length so that large calls pad little.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self._batch_size):
            chunk = order[start : start + self._batch_size]
            out[chunk] = self._logits([texts[i] for i in chunk])
        return self.calibrate(out)

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """Decide each text (see :class:`DecisionRule`)."""
        return self.decide(self.probabilities(texts))

    def _logits(self, texts: list[str]) -> _Array:
        encodings = self._tokenizer.encode_batch(texts)
        columns = {
            "input_ids": [e.ids for e in encodings],
            "attention_mask": [e.attention_mask for e in encodings],
            "token_type_ids": [e.type_ids for e in encodings],
        }
        feeds = {name: np.asarray(columns[name], dtype=np.int64) for name in self._inputs}
        logits: _Array = np.asarray(self._session.run(None, feeds)[0], dtype=np.float32)
        return logits
