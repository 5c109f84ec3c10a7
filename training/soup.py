"""Average the weights of fine-tuned MiniLM classifiers that share one starting point (a "model soup").

Fine-tunes of one parent that each gained something and lost something else (the verifier's Quora stages,
all from stage 4; the cacheability text models, all from all-MiniLM-L6-v2) can keep much of both when their
weights are averaged, at no cost per call: one model, same size, same latency. Writes a model folder that
the verifier's ``export.py`` and the classifier's ``export_text.py`` read; the first model's
``decision.json`` (the classifier's training record) is copied with the soup's recipe added.

    cd training/verifier
    python ../soup.py --models work/model_stage4 work/model_qqp_r22k --out work/model_soup
    python training/soup.py --models A B --weights 0.7 0.3 --out C
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

COPIED = ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")


def soup(models: list[Path], weights: list[float], out: Path) -> None:
    """Write the weighted mean of the models' tensors (same architecture) and the first one's files."""
    states = [load_file(str(m / "model.safetensors")) for m in models]
    names = set(states[0])
    if any(set(s) != names for s in states[1:]):
        raise SystemExit("the models do not share one architecture")
    total = sum(weights)
    mixed = {
        name: sum(w / total * s[name].to(torch.float64) for w, s in zip(weights, states, strict=True)).to(
            states[0][name].dtype
        )
        for name in sorted(names)
    }
    out.mkdir(parents=True, exist_ok=True)
    save_file(mixed, str(out / "model.safetensors"), metadata={"format": "pt"})
    for name in COPIED:
        if (models[0] / name).exists():
            shutil.copyfile(models[0] / name, out / name)
    record = models[0] / "decision.json"
    if record.exists():
        decision = json.loads(record.read_text())
        decision["soup"] = {str(m): w / total for m, w in zip(models, weights, strict=True)}
        (out / "decision.json").write_text(json.dumps(decision, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", type=Path, nargs="+", required=True)
    parser.add_argument("--weights", type=float, nargs="+", help="one per model (default: equal)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    weights = args.weights or [1.0] * len(args.models)
    if len(weights) != len(args.models):
        raise SystemExit("give one weight per model")
    soup(args.models, weights, args.out)
    recipe = " + ".join(f"{w:g} x {m.name}" for w, m in zip(weights, args.models, strict=True))
    print(f"wrote {args.out}: {recipe}")


if __name__ == "__main__":
    main()
