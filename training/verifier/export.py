"""Export the cross-encoder (``work/model/``) to ONNX, quantize it to int8, check both against PyTorch.

Writes ``work/export/model.fp32.onnx`` and ``work/export/model.int8.onnx`` (dynamic int8 quantization of
the weights, ``onnxruntime.quantization.quantize_dynamic``), then scores ``--check`` validation pairs with
PyTorch and both ONNX files and prints the largest and mean probability differences; fails when the fp32
export differs by more than ``--fp32-tolerance`` or the int8 one by more than ``--int8-tolerance`` (mean).
``--ship fp32|int8`` copies that model and the tokenizer files into the artifact folder (``card.py``
writes the card afterwards).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from common import ARTIFACT, SEED, WORK, Pair, read_pairs
from transformers import AutoModelForSequenceClassification, AutoTokenizer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from onnx_export import INPUTS, TOKENIZER_FILES, export, quantize


def onnx_scores(path: Path, tokenizer: Any, pairs: list[Pair], max_length: int) -> np.ndarray[Any, Any]:
    """Probabilities from an ONNX file, one pair at a time and in batches of 16 (both must agree)."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = np.zeros(len(pairs), dtype=np.float32)
    for start in range(0, len(pairs), 16):
        chunk = pairs[start : start + 16]
        enc = tokenizer(
            [p.a for p in chunk],
            [p.b for p in chunk],
            padding=True,
            truncation=True,
            max_length=max_length,
            return_tensors="np",
        )
        logits = session.run(None, {n: enc[n].astype(np.int64) for n in INPUTS})[0][:, 0]
        out[start : start + 16] = 1 / (1 + np.exp(-logits))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=WORK / "model")
    parser.add_argument("--out", type=Path, default=WORK / "export")
    parser.add_argument("--check", type=int, default=400, help="validation pairs to compare")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--fp32-tolerance", type=float, default=1e-3, help="max |p_onnx - p_torch|")
    parser.add_argument("--int8-tolerance", type=float, default=0.03, help="mean |p_int8 - p_torch|")
    parser.add_argument("--ship", choices=["fp32", "int8", "none"], default="none")
    parser.add_argument("--skip-ffn-output", action="store_true", help="keep FFN output MatMuls in fp32")
    parser.add_argument("--artifact", type=Path, default=ARTIFACT)
    parser.add_argument(
        "--check-pairs", type=Path, default=WORK / "val_pairs.csv", help="validation pairs for the check"
    )
    args = parser.parse_args()

    fp32, int8 = args.out / "model.fp32.onnx", args.out / "model.int8.onnx"
    export(args.model, fp32, ("How many legs does a spider have?", "How many legs do insects have?"))
    quantize(fp32, int8, args.skip_ffn_output)
    tokenizer = AutoTokenizer.from_pretrained(str(args.model))
    model = AutoModelForSequenceClassification.from_pretrained(str(args.model)).eval()
    pairs = read_pairs(args.check_pairs)
    rng = np.random.default_rng(SEED)
    pairs = [pairs[int(i)] for i in rng.choice(len(pairs), size=min(args.check, len(pairs)), replace=False)]
    with torch.inference_mode():
        reference = np.concatenate(
            [
                torch.sigmoid(
                    model(
                        **tokenizer(
                            [p.a for p in pairs[s : s + 16]],
                            [p.b for p in pairs[s : s + 16]],
                            padding=True,
                            truncation=True,
                            max_length=args.max_length,
                            return_tensors="pt",
                        )
                    ).logits[:, 0]
                ).numpy()
                for s in range(0, len(pairs), 16)
            ]
        )
    report: dict[str, Any] = {"pairs": len(pairs)}
    ok = True
    for name, path in (("fp32", fp32), ("int8", int8)):
        scores = onnx_scores(path, tokenizer, pairs, args.max_length)
        diff = np.abs(scores - reference)
        flips = int(((scores >= 0.5) != (reference >= 0.5)).sum())
        report[name] = {
            "max_abs_diff": float(diff.max()),
            "mean_abs_diff": float(diff.mean()),
            "decision_flips_at_0.5": flips,
            "bytes": path.stat().st_size,
        }
        print(
            f"{name}: max |diff| {diff.max():.5f}, mean {diff.mean():.5f}, "
            f"flips at 0.5: {flips}/{len(pairs)}, "
            f"size {path.stat().st_size / 1e6:.1f} MB",
            flush=True,
        )
    ok = (
        report["fp32"]["max_abs_diff"] <= args.fp32_tolerance
        and report["int8"]["mean_abs_diff"] <= args.int8_tolerance
    )
    (args.out / "export_check.json").write_text(json.dumps(report, indent=2))
    if not ok:
        print("export check FAILED", file=sys.stderr)
        sys.exit(1)
    if args.ship != "none":
        args.artifact.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(fp32 if args.ship == "fp32" else int8, args.artifact / "model.onnx")
        for name in TOKENIZER_FILES:
            if (args.model / name).exists():
                shutil.copyfile(args.model / name, args.artifact / name)
        print(f"shipped {args.ship} model and tokenizer to {args.artifact}")


if __name__ == "__main__":
    main()
