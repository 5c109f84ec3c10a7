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

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from .cacheability import DecisionRule, Prediction
from .onnx import TokenizedModel

__all__ = ["DEFAULT_DIRECTORY", "TextCacheabilityModel"]

#: The shipped artifact: ``card.json``, the ONNX model and ``tokenizer.json``.
DEFAULT_DIRECTORY = Path(__file__).resolve().parent.parent / "artifacts" / "cacheability_text"

_Array = np.ndarray[Any, np.dtype[np.float32]]


class TextCacheabilityModel(DecisionRule):
    """A sequence classifier over the query's text, with the card's calibrated softmax and thresholds."""

    def __init__(self, model: TokenizedModel) -> None:
        super().__init__(model.card)
        self._model = model

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
            model = cls(TokenizedModel(folder, threads))
            model.validate(where)
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
        if not texts:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        return self.calibrate(self._model.logits(list(texts)))

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """Decide each text (see :class:`DecisionRule`)."""
        return self.decide(self.probabilities(texts))
