"""ONNX Runtime sessions for every model the package runs on the CPU, and the shipped transformer artifacts
(card, tokenizer, model) the verifier and the cacheability text model share."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["TokenizedModel", "cpu_session"]

_Array = np.ndarray[Any, np.dtype[np.float32]]


def cpu_session(path: Path, threads: int = 1, spin: bool = False) -> Any:
    """A CPU inference session on ``threads`` cores.

    ``spin`` lets idle worker threads spin: only the embedder's lone-query session does. Measured at a
    proxy's request spacing on 2 cores (``benchmarks/model_threads.py``): two spinning threads embed a lone
    query in 4.2 ms instead of 5.6 on one, but a verifier pass on two spinning threads is no faster and far
    less steady (p90 10.7 ms against 6.1 on one thread; embed + verify p50 12.4 ms against 9.4 with the
    verifier on one thread), and spinning threads burn the cores the event loop needs under load.
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class TokenizedModel:
    """A fine-tuned MiniLM shipped as ``card.json``, ``tokenizer.json`` and an ONNX model, read offline.

    Its inputs are single texts or (text, text) pairs, truncated to the card's ``max_length`` word pieces;
    its output is one row of logits per input.
    """

    def __init__(self, folder: Path, threads: int = 1, spin: bool = False, batch_size: int = 64) -> None:
        """Read an artifact folder.

        Raises:
            OSError, ValueError, KeyError: files missing or unreadable, or a card that does not match the
                model (the callers report them as configuration errors).
        """
        from tokenizers import Tokenizer

        self.card: dict[str, Any] = json.loads((folder / "card.json").read_text(encoding="utf-8"))
        model_path = folder / str(self.card.get("model_file", "model.onnx"))
        if not model_path.is_file():
            raise FileNotFoundError(model_path)
        self.max_length = int(self.card["max_length"])
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=self.max_length, strategy="longest_first")
        self._tokenizer.enable_padding(
            pad_id=int(self.card.get("pad_id", 0)), pad_token=str(self.card.get("pad_token", "[PAD]"))
        )
        self.session = cpu_session(model_path, max(1, threads), spin)
        self._inputs = [i.name for i in self.session.get_inputs()]
        expected = [str(n) for n in self.card["input_names"]]
        if sorted(self._inputs) != sorted(expected):
            raise ValueError(f"model inputs {self._inputs} differ from the card's {expected}")
        self._batch_size = batch_size

    def logits(self, items: Sequence[str] | Sequence[tuple[str, str]]) -> _Array:
        """One row of logits per text or pair, in order (batches sorted by length, so little padding)."""
        rows: list[_Array] = []
        order = sorted(range(len(items)), key=lambda i: len("".join(items[i])))
        for start in range(0, len(order), self._batch_size):
            chunk = order[start : start + self._batch_size]
            encodings = self._tokenizer.encode_batch([items[i] for i in chunk])
            columns = {
                "input_ids": [e.ids for e in encodings],
                "attention_mask": [e.attention_mask for e in encodings],
                "token_type_ids": [e.type_ids for e in encodings],
            }
            feeds = {name: np.asarray(columns[name], dtype=np.int64) for name in self._inputs}
            rows.append(np.asarray(self.session.run(None, feeds)[0], dtype=np.float32))
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        out = np.concatenate(rows)
        restored: _Array = np.empty_like(out)
        restored[order] = out
        return restored
