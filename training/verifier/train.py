"""Fine-tune all-MiniLM-L6-v2 as a cross-encoder on ``work/train_pairs.csv``; write ``work/model/``.

Plain PyTorch: BCE on the label (``--distill``: on its mix with a teacher's probability), AdamW with linear
warm-up and decay, batches of similar length (little padding). A checkpoint (model, optimizer, schedule,
step) is written every ``--save-every`` steps to ``work/ckpt.pt``; ``--resume`` continues from it.
Validation metrics (``work/val_pairs.csv``) are printed at the end, and every ``--eval-every`` steps.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from common import SEED, WORK, Pair, base_model_path, read_pair_files, read_pairs
from metrics import pair_report
from transformers import AutoModelForSequenceClassification, AutoTokenizer


def batches(
    pairs: list[Pair], tokenizer: Any, size: int, rng: random.Random, both_orders: bool = False
) -> list[list[Pair]]:
    """Shuffled batches of pairs of similar length (chunks of 50 batches sorted by length).

    ``both_orders``: every pair is in its batch twice, as (a, b) and (b, a) (``size`` counts both).
    """
    order = pairs[:]
    rng.shuffle(order)
    out: list[list[Pair]] = []
    per = size // 2 if both_orders else size
    chunk = per * 50
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lambda p: len(p.a) + len(p.b))
        out += [part[i : i + per] for i in range(0, len(part), per)]
    rng.shuffle(out)
    if both_orders:
        out = [b + [dataclasses.replace(p, a=p.b, b=p.a) for p in b] for b in out]
    return out


def keep_layers(model: Any, layers: list[int]) -> None:
    """Keep only these encoder layers (in order): a shallower model that starts from a deeper one."""
    model.bert.encoder.layer = torch.nn.ModuleList([model.bert.encoder.layer[i] for i in layers])
    model.config.num_hidden_layers = len(layers)


def encode(tokenizer: Any, pairs: list[Pair], max_length: int) -> dict[str, torch.Tensor]:
    """Tokenized pairs, padded to the longest."""
    encoded: dict[str, torch.Tensor] = tokenizer(
        [p.a for p in pairs],
        [p.b for p in pairs],
        padding=True,
        truncation="longest_first",
        max_length=max_length,
        return_tensors="pt",
    )
    return encoded


@torch.inference_mode()
def predict(
    model: Any, tokenizer: Any, pairs: list[Pair], max_length: int, size: int = 128
) -> np.ndarray[Any, Any]:
    """Probabilities for the pairs, in order."""
    model.eval()
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i].a) + len(pairs[i].b))
    out = np.zeros(len(pairs), dtype=np.float32)
    for start in range(0, len(order), size):
        ids = order[start : start + size]
        logits = model(**encode(tokenizer, [pairs[i] for i in ids], max_length)).logits[:, 0]
        out[ids] = torch.sigmoid(logits).numpy()
    model.train()
    return out


def target(pair: Pair, distill: float) -> float:
    """The pair's training target: its label, or with ``distill`` a mix of the label and the teacher's
    probability (soft targets carry how sure a larger model is, which a hard label cannot)."""
    if pair.teacher is None or distill <= 0.0:
        return float(pair.same)
    return distill * pair.teacher + (1.0 - distill) * float(pair.same)


def evaluate(model: Any, tokenizer: Any, val: list[Pair], max_length: int) -> None:
    """Print pair metrics per validation source."""
    scores = predict(model, tokenizer, val, max_length)
    labels = np.array([p.same for p in val])
    for source in sorted({p.source for p in val}):
        mask = np.array([p.source == source for p in val])
        print(pair_report(source, labels[mask], scores[mask]), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--train", type=Path, nargs="+", default=[WORK / "train_pairs.csv"], help="pair files (stage 4: two)"
    )
    parser.add_argument("--val", type=Path, default=WORK / "val_pairs.csv")
    parser.add_argument("--out", type=Path, default=WORK / "model")
    parser.add_argument("--init", type=Path, default=None, help="start from this model (default: base model)")
    parser.add_argument(
        "--tokenizer", type=Path, default=None, help="tokenizer of --init when it is not MiniLM's (a teacher)"
    )
    parser.add_argument("--ckpt", type=Path, default=WORK / "ckpt.pt")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=4e-5)
    parser.add_argument("--warmup", type=float, default=0.06, help="fraction of steps")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: the 2 cores are shared)")
    parser.add_argument("--save-every", type=int, default=200)
    parser.add_argument("--eval-every", type=int, default=0, help="0: only at the end")
    parser.add_argument(
        "--max-minutes", type=float, default=0.0, help="stop (and save) after this long; 0: no limit"
    )
    parser.add_argument("--resume", action="store_true")
    parser.add_argument(
        "--keep-layers", default="", help="comma-separated encoder layers of --init to keep (e.g. 0,1,3,5)"
    )
    parser.add_argument("--seed", type=int, default=SEED, help="batch order and initialisation (stage 5: 14)")
    parser.add_argument("--both-orders", action="store_true", help="each pair as (a, b) and (b, a) per batch")
    parser.add_argument(
        "--freeze-word-embeddings", action="store_true", help="do not train the 30k x 384 word embeddings"
    )
    parser.add_argument(
        "--distill",
        type=float,
        default=0.0,
        help="weight of the teacher's probability in the target of pairs that have one (0: labels only)",
    )
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    tokenizer = AutoTokenizer.from_pretrained(str(args.tokenizer or base_model_path()))
    start = str(args.init or base_model_path())
    model = AutoModelForSequenceClassification.from_pretrained(start, num_labels=1)
    if args.keep_layers:
        keep_layers(model, [int(i) for i in args.keep_layers.split(",")])
    if args.freeze_word_embeddings:
        model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    train, val = read_pair_files(args.train), read_pairs(args.val)
    epochs = math.ceil(args.epochs)
    plan = [
        b for _ in range(epochs) for b in batches(train, tokenizer, args.batch_size, rng, args.both_orders)
    ]
    plan = plan[: int(len(plan) * args.epochs / epochs)]
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=args.lr, weight_decay=0.01
    )
    warmup = int(len(plan) * args.warmup)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: min((s + 1) / max(warmup, 1), max(0.0, (len(plan) - s) / max(len(plan) - warmup, 1))),
    )
    loss_fn = torch.nn.BCEWithLogitsLoss()
    ckpt = args.ckpt
    step = 0
    if args.resume and ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        step = state["step"]
        print(f"resumed at step {step}", flush=True)
    print(f"{len(train)} training pairs, {len(plan)} steps of {args.batch_size}", flush=True)
    model.train()
    started, running = time.monotonic(), 0.0
    while step < len(plan):
        batch = plan[step]
        inputs = encode(tokenizer, batch, args.max_length)
        logits = model(**inputs).logits[:, 0]
        loss = loss_fn(logits, torch.tensor([target(p, args.distill) for p in batch]))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        step += 1
        value = loss.item()
        running = 0.98 * running + 0.02 * value if step > 1 else value
        elapsed = time.monotonic() - started
        if step % 50 == 0:
            print(
                f"step {step}/{len(plan)} loss {running:.4f} lr {schedule.get_last_lr()[0]:.2e} "
                f"{elapsed / 60:.1f} min",
                flush=True,
            )
        out_of_time = args.max_minutes > 0 and elapsed > args.max_minutes * 60
        if step % args.save_every == 0 or step == len(plan) or out_of_time:
            torch.save(
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "schedule": schedule.state_dict(),
                    "step": step,
                },
                ckpt.with_suffix(".tmp"),
            )
            ckpt.with_suffix(".tmp").replace(ckpt)
        if args.eval_every and step % args.eval_every == 0:
            evaluate(model, tokenizer, val, args.max_length)
        if out_of_time:
            print(f"time budget reached at step {step}", flush=True)
            break
    model.eval()
    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.out)
    tokenizer.save_pretrained(args.out)
    print(f"saved {args.out} after {step} steps, {(time.monotonic() - started) / 60:.1f} min", flush=True)
    evaluate(model, tokenizer, val, args.max_length)


if __name__ == "__main__":
    main()
