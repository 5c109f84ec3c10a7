"""An operator's calibration of the cacheability classifier for their own traffic.

The shipped decision was chosen on the project's dev data; a deployment whose users ask differently (a bank's
support desk whose questions are phrased "I need to update my address") may see the classifier keep out
more general questions than it can accept. ``litellm-semcache calibrate --cacheability FILE
--write-calibration PATH`` measures the classifier on the operator's labelled questions and writes the one
shift of the ``general`` class's logit that keeps at most a budget of their cacheable questions out while
keeping out as many of the others as possible; ``cacheability_calibration: PATH`` (in the block, or in
one policy) makes the proxy use it.

Shifting a class's logit moves every calibrated probability the way the card's own ``class_bias`` does, so
the shift is applied to the probabilities the model already gives: ``log p + shift`` renormalized.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ConfigError
from ..models.cacheability import DecisionRule, Prediction

__all__ = [
    "SHIFTS",
    "CacheabilityCalibration",
    "Fit",
    "decide_shifted",
    "fit_general_shift",
    "shifted",
]

#: Shifts of the general logit tried by the fit: from 3 toward keeping out to 6 toward caching.
SHIFTS: tuple[float, ...] = tuple(round(-3.0 + 0.25 * i, 2) for i in range(37))

_Array = np.ndarray[Any, np.dtype[np.float32]]


class CacheabilityCalibration(BaseModel):
    """What ``calibrate --write-calibration`` writes and ``cacheability_calibration`` reads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(description="Version of the cacheability model the shift was measured with.")
    general_shift: float = Field(
        ge=-20.0, le=20.0, description="Added to the general class's logit (positive: caches more)."
    )
    keep_out_budget: float = Field(
        ge=0.0, le=1.0, description="Share of cacheable questions it may keep out."
    )
    source: str = Field(description="The labelled file it was measured on.")
    measured: dict[str, float] = Field(default_factory=dict, description="Kept-out shares at the shift.")

    @classmethod
    def load(cls, path: Path) -> CacheabilityCalibration:
        """Read a calibration file.

        Raises:
            ConfigError: the file is missing or not a valid calibration.
        """
        try:
            return cls.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, ValueError, ValidationError) as exc:
            raise ConfigError(f"cacheability calibration {path} cannot be read: {exc}") from exc

    def write(self, path: Path) -> None:
        """Write the calibration as JSON."""
        Path(path).write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")

    def check(self, model_version: str) -> None:
        """Raises ConfigError unless the calibration was measured with this model."""
        if self.model != model_version:
            raise ConfigError(
                f"the cacheability calibration was measured with {self.model}, the loaded classifier is "
                f"{model_version}: recalibrate (litellm-semcache calibrate --cacheability FILE "
                "--write-calibration PATH)"
            )


def shifted(probabilities: _Array, column: int, shift: float) -> _Array:
    """The probabilities after adding ``shift`` to one class's logit (rows still sum to 1)."""
    logits = np.log(np.clip(probabilities, 1e-30, 1.0))
    logits[:, column] += shift
    logits -= logits.max(axis=1, keepdims=True)
    out: _Array = np.exp(logits).astype(np.float32)
    out /= out.sum(axis=1, keepdims=True)
    return out


def decide_shifted(rule: DecisionRule, probabilities: _Array, shift: float | None) -> list[Prediction]:
    """The rule's decisions after shifting the cacheable class's logit (None: as the model gives them)."""
    if shift is not None:
        probabilities = shifted(probabilities, rule.classes.index(rule.cacheable_class), shift)
    return rule.decide(probabilities)


@dataclass(frozen=True)
class Fit:
    """The chosen shift and every shift's kept-out shares (cacheable, not cacheable)."""

    shift: float | None
    """None when no shift keeps the cacheable questions within the budget."""
    table: list[tuple[float, float, float]]
    """``(shift, cacheable kept out, not cacheable kept out)`` for every shift tried."""


def fit_general_shift(
    rule: DecisionRule,
    probabilities: _Array,
    cacheable: Sequence[bool],
    admitted: Callable[[Prediction], bool],
    budget: float,
    fixed: Sequence[bool | None] | None = None,
    shifts: Sequence[float] = SHIFTS,
) -> Fit:
    """The general-logit shift that keeps the most non-cacheable questions out while keeping at most
    ``budget`` of the cacheable ones out; among equals, the smallest shift (the most cautious).

    Args:
        rule: The classifier's decision rule (thresholds), applied after the shift.
        probabilities: The classifier's calibrated probabilities, one row per question.
        cacheable: The operator's label per question.
        admitted: The policy: whether a prediction's question is cached (``keep_out_classes``,
            ``live_ttl_seconds``).
        budget: The share of cacheable questions that may be kept out.
        fixed: Per question, a decision the classifier does not make (``never_cache_patterns`` → False,
            ``always_cache_patterns`` → True), or None.
        shifts: The shifts to try.
    """
    truth = np.asarray(cacheable, dtype=bool)
    fixed = list(fixed) if fixed is not None else [None] * len(truth)
    table = []
    for shift in shifts:
        predictions = decide_shifted(rule, probabilities, shift)
        cached = np.array(
            [f if f is not None else admitted(p) for f, p in zip(fixed, predictions, strict=True)],
            dtype=bool,
        )
        good_out = float((~cached & truth).sum() / truth.sum()) if truth.any() else 0.0
        bad_out = float((~cached & ~truth).sum() / (~truth).sum()) if (~truth).any() else 0.0
        table.append((float(shift), good_out, bad_out))
    within = [row for row in table if row[1] <= budget]
    if not within:
        return Fit(None, table)
    best = max(within, key=lambda row: (row[2], -row[0]))
    return Fit(best[0], table)
