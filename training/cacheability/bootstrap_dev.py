"""Were a text-model candidate's dev differences more than noise? Paired bootstrap of the dev keep-out rates.

Runs the shipped text model and each candidate artifact on the dev split (int8, batches of 64, as
``export_text.py`` chose their decisions), then resamples the dev rows of each class and reports each
model's keep-out rate and its difference to the shipped one, with 95% intervals. The written test split,
CLINC150 and Banking77 are never read.

    .venv/bin/python training/cacheability/bootstrap_dev.py work/art_soup23 work/art_text3
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from common import CLASSES, REPO
from train import load_data

sys.path.insert(0, str(REPO))
from litellm_semcache.models.cacheability_text import TextCacheabilityModel


def kept_out(model: TextCacheabilityModel, texts: list[str]) -> np.ndarray:
    out: list[bool] = []
    for start in range(0, len(texts), 64):
        out += [not p.cacheable for p in model.predict(texts[start : start + 64])]
    return np.array(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("candidates", nargs="+", type=Path, help="artifact folders to compare")
    parser.add_argument(
        "--qqp", type=int, default=6000, help="as the shipped model's training (dev is the same)"
    )
    parser.add_argument("--draws", type=int, default=2000)
    args = parser.parse_args()
    _, dev, _, _ = load_data(args.qqp, v3=True)
    texts = [e.text for e in dev]
    labels = np.array([e.label for e in dev])
    here = Path(__file__).resolve().parent
    results = {"shipped": kept_out(TextCacheabilityModel.load(), texts)}
    for folder in args.candidates:
        results[str(folder)] = kept_out(TextCacheabilityModel.load(here / folder), texts)
    rng = np.random.default_rng(0)
    for name in CLASSES:
        rows = np.flatnonzero(labels == name)
        if not len(rows):
            continue
        base = results["shipped"][rows]
        parts = [f"{name} (n {len(rows)})"]
        for model, decisions in results.items():
            mine = decisions[rows]
            draws = [rng.integers(0, len(rows), len(rows)) for _ in range(args.draws)]
            lo, hi = np.percentile([mine[i].mean() for i in draws], [2.5, 97.5])
            text = f"{model} {mine.mean():.1%} [{lo:.1%}, {hi:.1%}]"
            if model != "shipped":
                dl, dh = np.percentile([mine[i].mean() - base[i].mean() for i in draws], [2.5, 97.5])
                text += f" diff [{dl:+.1%}, {dh:+.1%}]"
            parts.append(text)
        print(" | ".join(parts), flush=True)


if __name__ == "__main__":
    main()
