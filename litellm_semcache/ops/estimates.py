"""The estimated wrong-hit rate: disagreements among compared hits, with a Wilson 95% interval, corrected
for the answer comparison's own errors.

A comparison (``verification/answers.py``) calls a right hit wrong now and then (its false-disagree rate)
and a wrong hit right (its false-agree rate), both measured on held-out answer pairs. The share of
disagreements it observes is therefore ``w (1 - fa) + (1 - w) fd`` for a true wrong-hit rate ``w``; the
estimate inverts that (Rogan and Gladen, 1978), and the interval's ends are mapped the same way. The
correction takes the comparison's error rates as known: the interval does not widen for their own
uncertainty, and they were measured on the calibration set, not on your traffic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..verification.answers import CALIBRATION, AnswerCalibration

__all__ = ["RateEstimate", "corrected_rate", "estimate_rate", "wilson_interval"]

_Z95 = 1.959963984540054


def wilson_interval(successes: int, trials: int, z: float = _Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95% by default); (0, 1) with no trials."""
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    denominator = 1.0 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    margin = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - margin), min(1.0, centre + margin)


def corrected_rate(observed: float, calibration: AnswerCalibration = CALIBRATION) -> float:
    """The true rate behind an observed share of disagreements, given the comparison's error rates,
    clipped to [0, 1]."""
    informative = 1.0 - calibration.false_agree - calibration.false_disagree
    if informative <= 0:  # a comparison no better than chance says nothing
        return observed
    return min(1.0, max(0.0, (observed - calibration.false_disagree) / informative))


@dataclass(frozen=True)
class RateEstimate:
    """The estimated wrong-hit rate among compared hits."""

    compared: int
    disagreed: int
    observed: float
    """disagreed / compared: what the comparison saw."""
    estimate: float
    """The observed share corrected for the comparison's errors."""
    lower: float
    upper: float
    """The Wilson 95% interval of the observed share, corrected the same way."""

    def as_dict(self) -> dict[str, Any]:
        """The estimate as ``stats --json`` shows it."""
        return {
            "compared": self.compared,
            "disagreed": self.disagreed,
            "observed": round(self.observed, 4),
            "estimate": round(self.estimate, 4),
            "lower": round(self.lower, 4),
            "upper": round(self.upper, 4),
        }


def estimate_rate(
    disagreed: int, compared: int, calibration: AnswerCalibration = CALIBRATION
) -> RateEstimate:
    """The wrong-hit rate from ``disagreed`` of ``compared`` comparisons (0 and [0, 1] with none)."""
    if compared <= 0:
        return RateEstimate(0, 0, 0.0, 0.0, 0.0, 1.0)
    observed = disagreed / compared
    low, high = wilson_interval(disagreed, compared)
    return RateEstimate(
        compared,
        disagreed,
        observed,
        corrected_rate(observed, calibration),
        corrected_rate(low, calibration),
        corrected_rate(high, calibration),
    )
