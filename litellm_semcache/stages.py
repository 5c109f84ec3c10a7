"""One shape for every decision on the request's path.

Admission (may this question use the cache at all?) and verification (may this stored question answer
it?) are each a list of stages run in an order kept as data. Every stage answers with a
:class:`StageResult`: passed or not, the reason it gives (a typed literal of the outcome it leads to),
an optional detail and an optional score. The first stage that refuses decides; the reason reaches the
response headers and the metrics, so a wrong answer can be traced to the stage that let it through.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from .store import Candidate

__all__ = ["PASSED", "Stage", "StageResult", "first_refusal"]

_Subject_contra = TypeVar("_Subject_contra", contravariant=True)
_Subject = TypeVar("_Subject")


@dataclass(frozen=True)
class StageResult:
    """A stage's decision."""

    passed: bool
    reason: str = "passed"
    """When refused: the reason the outcome carries (e.g. ``pattern``, ``below_threshold``)."""
    detail: str | None = None
    """What exactly refused it (the pattern, the kind of contrast)."""
    score: float | None = None
    """The number the stage decided on, when it has one (similarity, a model's probability)."""
    candidate: Candidate | None = None
    """Verification only: the candidate the next stages look at (the answer vote may pick another)."""


PASSED = StageResult(True)


class Stage(Protocol, Generic[_Subject_contra]):
    """A decision step: admission stages decide on a parsed question, verification stages on a trial."""

    @property
    def name(self) -> str:
        """The stage's name in its order (e.g. ``threshold``)."""
        ...

    def decide(self, subject: _Subject_contra) -> StageResult:
        """Passed, or the reason to refuse."""
        ...


def first_refusal(stages: Sequence[Stage[_Subject]], subject: _Subject) -> StageResult:
    """Run stages in order; the first refusal, or :data:`PASSED`."""
    for stage in stages:
        result = stage.decide(subject)
        if not result.passed:
            return result
    return PASSED
