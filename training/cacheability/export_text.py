"""Export the text cacheability classifier to int8 ONNX, choose its decision on dev, write the artifact.

    .venv/bin/python training/cacheability/export_text.py [--model work/text_model] [--out DIR]

The temperature, general bias and thresholds are chosen (``train.py``'s rule) on the dev logits of the
exported int8 model itself, so the card describes exactly what the package runs. Prints the largest
difference between the int8 and PyTorch probabilities on dev, and the dev rates. Writes ``model.onnx``,
the tokenizer and ``card.json`` into ``--out`` (default the shipped ``artifacts/cacheability_text/``).
The written test split, CLINC150 and Banking77 are never read here.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import torch
from common import CLASSES, REPO
from train import DEV_SCENARIOS, PINNED, SEED, fmt, load_data, softmax
from train_text import MAX_LENGTH, QQP, decide, logits_for
from transformers import AutoModelForSequenceClassification, AutoTokenizer

sys.path[:0] = [str(REPO / "training"), str(REPO)]
from onnx_export import INPUTS, TOKENIZER_FILES, export, quantize  # noqa: E402

from litellm_semcache.models.cacheability import DecisionRule  # noqa: E402

#: By training data (written_v3.csv, Quora questions with spoken copies): the first version had neither,
#: the second written_v3.csv, the third both.
VERSIONS = {
    (False, False): "cacheability-minilm-text-1",
    (True, False): "cacheability-minilm-text-2",
    (True, True): "cacheability-minilm-text-3",
}
ARTIFACT = REPO / "litellm_semcache" / "artifacts" / "cacheability_text"


def onnx_logits(path: Path, tokenizer: Any, texts: list[str]) -> np.ndarray:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = np.zeros((len(texts), len(CLASSES)), np.float32)
    for start in range(0, len(texts), 64):
        enc = tokenizer(
            texts[start : start + 64],
            padding=True,
            truncation=True,
            max_length=MAX_LENGTH,
            return_tensors="np",
        )
        out[start : start + 64] = session.run(None, {n: enc[n].astype(np.int64) for n in INPUTS})[0]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=Path(__file__).parent / "work" / "text_model")
    parser.add_argument("--out", type=Path, default=ARTIFACT)
    parser.add_argument("--skip-ffn-output", action="store_true", help="keep FFN output MatMuls in fp32")
    args = parser.parse_args()
    torch.set_num_threads(2)
    trained = json.loads((args.model / "decision.json").read_text())
    v3 = bool(trained.get("written_v3", False))
    qqp, qqp_spoken = int(trained.get("qqp", QQP)), bool(trained.get("qqp_spoken", False))
    version = VERSIONS[v3, qqp_spoken]
    _, dev, _, stats = load_data(qqp, v3=v3)
    texts = [e.text for e in dev]
    tokenizer = AutoTokenizer.from_pretrained(str(args.model))
    model = AutoModelForSequenceClassification.from_pretrained(str(args.model)).eval()
    reference = logits_for(model, tokenizer, texts)

    with tempfile.TemporaryDirectory() as tmp:
        fp32, int8 = Path(tmp) / "model.fp32.onnx", Path(tmp) / "model.int8.onnx"
        export(args.model, fp32)
        quantize(fp32, int8, args.skip_ffn_output)
        logits = onnx_logits(int8, tokenizer, texts)
        diff = np.abs(softmax(logits) - softmax(reference))
        print(
            f"int8 vs torch on dev: max |p diff| {diff.max():.4f}, mean {diff.mean():.5f}, "
            f"argmax flips {(logits.argmax(1) != reference.argmax(1)).sum()}/{len(texts)}; "
            f"{int8.stat().st_size / 1e6:.1f} MB"
        )
        result = decide(logits, dev)
        print(f"dev all: {fmt(result['dev_all'])}   dev written: {fmt(result['dev_written'])}")
        print(f"T {result['temperature']} bias {result['class_bias']} thresholds {result['thresholds']}")
        args.out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(int8, args.out / "model.onnx")
    for name in TOKENIZER_FILES:
        if (args.model / name).exists():
            shutil.copyfile(args.model / name, args.out / name)
    rule = DecisionRule(
        {"version": version, "classes": list(CLASSES), "cacheable_class": "general", **result}
    )
    pinned = rule.decide(rule.calibrate(onnx_logits(args.out / "model.onnx", tokenizer, PINNED)))
    card = {
        "version": version,
        "head": "all-MiniLM-L6-v2 fine-tuned end to end as a 4-class sequence classifier (int8 ONNX)",
        "classes": list(CLASSES),
        "cacheable_class": "general",
        "temperature": result["temperature"],
        "class_bias": result["class_bias"],
        "thresholds": result["thresholds"],
        "decision": "cacheable when general is the most probable class and reaches its threshold and no "
        "other "
        "class reaches its keep-out threshold; probabilities = softmax(logits / temperature + class_bias)",
        "model_file": "model.onnx",
        "max_length": MAX_LENGTH,
        "input_names": INPUTS,
        "pad_id": tokenizer.pad_token_id,
        "pad_token": tokenizer.pad_token,
        "training": {
            "script": "training/cacheability/train_text.py then export_text.py",
            "epochs": trained["epochs"],
            "lr": trained["lr"],
            "layers": trained["layers"],
            "seed": SEED,
            "rows": trained["train_rows"],
            "data": "HWU64 (all scenarios but the dev ones, CC BY 4.0), written v1/v2 and templated rows "
            "with "
            f"spoken copies{', written_v3 (short imperative LLM tasks and contrasts)' if v3 else ''}, "
            f"{qqp} Quora dev-split questions weakly general{' with spoken copies' if qqp_spoken else ''}; "
            "dev: HWU64 scenarios "
            f"{', '.join(DEV_SCENARIOS)} + written dev rows",
            "decontaminated": stats["decontaminated"],
        },
        "dev_metrics": {
            "all": result["dev_all"],
            "written": result["dev_written"],
            "accuracy": result["accuracy"],
            "n": dict(Counter(e.label for e in dev)),
        },
        "int8_vs_torch_dev": {
            "max_abs_prob_diff": float(diff.max()),
            "mean_abs_prob_diff": float(diff.mean()),
        },
        "pinned": [
            {"text": t, "label": p.label, "probability": round(p.probability, 4), "cacheable": p.cacheable}
            for t, p in zip(PINNED, pinned, strict=True)
        ],
        "model_sha256": hashlib.sha256((args.out / "model.onnx").read_bytes()).hexdigest(),
    }
    (args.out / "card.json").write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
