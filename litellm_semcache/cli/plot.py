"""The calibration plot: precision and hit rate against the threshold, per verification profile."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from ..errors import ConfigError
from ..evaluation import Row

__all__ = ["plot"]


def plot(
    profiles: Mapping[str, Sequence[Row]],
    path: Path,
    title: str,
    target_precision: float,
    marker: float | None = None,
) -> None:
    """A PNG of precision and hit rate against the threshold, one line pair per verification profile.

    Raises:
        ConfigError: matplotlib is missing (``pip install 'litellm-semcache[calibrate]'``).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ConfigError("--plot needs matplotlib: pip install 'litellm-semcache[calibrate]'") from exc
    figure, axis = plt.subplots(figsize=(8, 5))
    for (name, rows), color in zip(
        profiles.items(), ("tab:blue", "tab:orange", "tab:green", "tab:red"), strict=False
    ):
        thresholds = [row.threshold for row in rows]
        axis.plot(thresholds, [row.precision for row in rows], color=color, label=f"precision ({name})")
        axis.plot(
            thresholds,
            [row.hit_rate for row in rows],
            color=color,
            linestyle="--",
            label=f"hit rate ({name})",
        )
    axis.axhline(target_precision, color="grey", linewidth=0.8, linestyle=":", label="target precision")
    if marker is not None:
        axis.axvline(
            marker, color="black", linewidth=0.8, linestyle="-.", label=f"chosen threshold {marker:.2f}"
        )
    axis.set_xlabel("similarity threshold")
    axis.set_ylim(0, 1.01)
    axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8, loc="lower left")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
