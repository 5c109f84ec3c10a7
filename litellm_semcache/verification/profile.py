"""The calibration profile: which gates reach a target precision.

Operators set ``target_precision``, not a raw cosine. A profile is a table, measured on labelled data, of
the gates that reach each precision: the cosine gate below which no candidate is judged, how many of the
nearest candidates the learned verifier judges, and the verifier score a hit needs. The shipped profile
(``artifacts/verifier/profile.json``) comes from ``benchmarks/quality.py`` on validation data;
``litellm-semcache calibrate --write-profile`` writes one from an operator's own labelled pairs.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ConfigError
from ..models.resolve import artifact_dir

__all__ = ["SHIPPED_PROFILE", "CalibrationProfile", "Gates"]

#: The profile that ships with the verifier.
SHIPPED_PROFILE = artifact_dir("verifier") / "profile.json"


class Gates(BaseModel):
    """The gates for one target precision, and what they gave on the data they were measured on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    target_precision: float = Field(ge=0.0, le=1.0)
    gate: float = Field(ge=-1.0, le=1.0, description="Cosine similarity a candidate must reach.")
    top_n: int = Field(ge=1, le=50, description="Nearest candidates above the gate the verifier judges.")
    score_threshold: float = Field(ge=0.0, le=1.0, description="Verifier probability a hit needs.")
    measured: dict[str, float] = Field(default_factory=dict, description="Precision, hit rate, ... at it.")


class CalibrationProfile(BaseModel):
    """A table of gates by target precision, for one verifier model and one embedding model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    verifier: str = Field(description="Version of the verifier model whose scores the table holds.")
    embedding_model: str
    source: str = Field(description="The labelled data the table was measured on.")
    rows: list[Gates] = Field(min_length=1)

    @classmethod
    def load(cls, path: Path | None = None) -> CalibrationProfile:
        """Read a profile (the shipped one when ``path`` is None).

        Raises:
            ConfigError: the file is missing or not a valid profile.
        """
        path = SHIPPED_PROFILE if path is None else Path(path)
        try:
            return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, ValidationError) as exc:
            raise ConfigError(f"calibration profile {path} cannot be read: {exc}") from exc

    def write(self, path: Path) -> None:
        """Write the profile as JSON."""
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")

    def gates(self, target_precision: float) -> Gates:
        """The loosest gates whose measured precision reaches the target; the strictest row when none
        does (the target is then out of reach of this profile: check :meth:`reaches`)."""
        reaching = [row for row in self.rows if row.target_precision >= target_precision]
        if reaching:
            return min(reaching, key=lambda row: row.target_precision)
        return max(self.rows, key=lambda row: row.target_precision)

    def reaches(self, target_precision: float) -> bool:
        """Whether some row of the table reaches the target precision."""
        return any(row.target_precision >= target_precision for row in self.rows)
