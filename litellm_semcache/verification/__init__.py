"""Step 6: the hit decision, as stages in an order kept as data."""

from __future__ import annotations

from .contrast import ContrastGuard
from .guards import InstructionGuard, PayloadGuard
from .stages import AnswerLength, AnswerVote, Contrast, Threshold, Trial
from .verifier import VERIFICATION_ORDER, Verdict, Verifier

__all__ = [
    "VERIFICATION_ORDER",
    "AnswerLength",
    "AnswerVote",
    "Contrast",
    "ContrastGuard",
    "InstructionGuard",
    "PayloadGuard",
    "Threshold",
    "Trial",
    "Verdict",
    "Verifier",
]
