"""Admission of an answer for storage: only answers generated under the operator's sampling envelope.

A request outside the envelope (``temperature: 2``, ``top_p: 0.01``, a ``seed``, ``top_k``, penalties)
is still served from the cache like any other, but its own answer never becomes what colleagues
receive. Answers a client dictated (``mock_response``) are never stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..settings import SamplingEnvelope
from ..stages import PASSED, StageResult
from ..types import ParsedQuery

__all__ = ["EnvelopeStage"]

#: Values of the forbidden parameters that change nothing (a penalty of 0 is no penalty).
_NEUTRAL = {"presence_penalty": 0.0, "frequency_penalty": 0.0, "repetition_penalty": 1.0, "min_p": 0.0}


@dataclass(frozen=True)
class EnvelopeStage:
    """Refuses to store answers sampled outside the envelope, or dictated by the client."""

    envelope: SamplingEnvelope
    name: str = "envelope"
    status: str = "not_stored"

    def decide(self, subject: ParsedQuery) -> StageResult:
        """``mock_response``, or ``outside_envelope`` with the parameter as detail; else passed."""
        traits = subject.traits
        if traits.mock_response:
            return StageResult(False, "mock_response")
        sampling = traits.sampling
        temperature = sampling.get("temperature")
        if temperature is not None and temperature > self.envelope.max_temperature:
            return StageResult(False, "outside_envelope", detail="temperature", score=temperature)
        top_p = sampling.get("top_p")
        if top_p is not None and top_p < self.envelope.min_top_p:
            return StageResult(False, "outside_envelope", detail="top_p", score=top_p)
        for name in self.envelope.forbidden:
            value = sampling.get(name)
            if value is not None and value != _NEUTRAL.get(name):
                return StageResult(False, "outside_envelope", detail=name, score=value)
        return PASSED
