"""Step 4b: run a sentence-transformers model with ONNX Runtime: the same vectors, in a quarter of the time.

On a 2-core CPU, one query through PyTorch costs ~12 ms for all-MiniLM-L6-v2 (mostly per-operator
overhead); ONNX Runtime does it in ~3 ms on both cores, ~4.6 ms on one. The model is exported once with
``torch.onnx`` into a cache directory (``~/.cache/litellm-semcache/onnx``) and reused afterwards.

Only the plain "transformer → mean pooling → (normalize)" pipeline is exported (all-MiniLM-L6-v2 and most
sentence-transformers models); anything else, or an export whose vectors differ from PyTorch's, stays
on PyTorch. (sentence-transformers' own ``backend="onnx"`` needs `optimum`, whose releases pin a
transformers version older than sentence-transformers 6 accepts.)
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..models.onnx import cpu_session

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["OnnxEncoder", "load_onnx_encoder"]

logger = logging.getLogger(__name__)

_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_CHECK_SENTENCES = (
    "How do I reset my password?",
    "Convert 100 Fahrenheit to Celsius",
    "What is the capital of France and why did it become the capital?",
)
_MAX_DIFFERENCE = 1e-3


class OnnxEncoder:
    """Tokenize, run the exported transformer, mean-pool, normalize.

    Two sessions on one model file: a lone query (a quiet proxy, where latency is what counts) runs on up
    to ``cores`` threads that spin between calls (2 cores: 4.2 ms instead of 5.6 ms on one thread,
    ``benchmarks/model_threads.py``); a batch (a busy proxy, where CPU is what counts) runs on one thread
    without spinning, leaving the other core to the event loop.
    """

    def __init__(
        self, path: Path, tokenizer: Any, input_window: int, cores: int | None = None, spin: bool = True
    ) -> None:
        cores = max(1, min(cores or os.cpu_count() or 1, 4))
        self.path = path
        self.batch_session = cpu_session(path, 1)
        self.single_session = cpu_session(path, cores, spin) if cores > 1 else self.batch_session
        self.tokenizer = tokenizer
        self.input_window = input_window
        self.input_names = [i.name for i in self.batch_session.get_inputs()]

    def encode(self, texts: list[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        """Normalized embeddings of the texts (truncated at the model's window, as PyTorch does)."""
        encoded = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.input_window, return_tensors="np"
        )
        feeds = {name: encoded[name].astype(np.int64) for name in self.input_names}
        session = self.single_session if len(texts) == 1 else self.batch_session
        hidden = session.run(None, feeds)[0]
        mask = encoded["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        normalized: np.ndarray[Any, np.dtype[np.float32]] = (pooled / np.clip(norms, 1e-12, None)).astype(
            np.float32
        )
        return normalized


def _exportable(model: SentenceTransformer) -> bool:
    modules: list[Any] = list(model)
    if len(modules) not in (2, 3) or type(modules[0]).__name__ != "Transformer":
        return False
    pooling = modules[1].get_config_dict() if hasattr(modules[1], "get_config_dict") else {}
    if type(modules[1]).__name__ != "Pooling" or pooling.get("pooling_mode") != "mean":
        return False
    return len(modules) == 2 or type(modules[2]).__name__ == "Normalize"


def _fingerprint(model: SentenceTransformer, name: str) -> str:
    """Names the exported file: a different model or different weights never reuse it."""
    parameters = list(model.parameters())
    sample = b"".join(
        p.detach().flatten()[:16].numpy().tobytes() for p in parameters[:: max(len(parameters) // 8, 1)]
    )
    material = f"{name}|{sum(p.numel() for p in parameters)}".encode() + sample
    return hashlib.sha256(material).hexdigest()[:16]


def _export(model: SentenceTransformer, path: Path) -> None:
    import torch

    first: Any = list(model)[0]
    transformer = first.auto_model.eval()
    names = [n for n in _INPUTS if n in model.tokenizer.model_input_names]

    class _Wrapper(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = transformer

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            hidden: torch.Tensor = self.inner(**dict(zip(names, inputs, strict=True))).last_hidden_state
            return hidden

    sample = model.tokenizer(["an example sentence to trace"], return_tensors="pt")
    axes = {n: {0: "batch", 1: "tokens"} for n in names} | {"hidden": {0: "batch", 1: "tokens"}}
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".onnx.tmp", delete=False) as handle:
        tmp = Path(handle.name)
    try:
        # The TorchScript exporter warns that it is deprecated; the new one needs onnxscript, which is
        # not a dependency. Its warnings must not turn into errors where warnings are errors (tests).
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _Wrapper(),
                tuple(sample[n] for n in names),
                str(tmp),
                input_names=names,
                output_names=["hidden"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        os.replace(tmp, path)  # atomic: several workers may export at once
    finally:
        tmp.unlink(missing_ok=True)


def load_onnx_encoder(model: SentenceTransformer, name: str, cache_dir: Path) -> OnnxEncoder | None:
    """An ONNX encoder equivalent to the model, or None (unsupported pipeline, missing runtime,
    or vectors that do not match PyTorch's)."""
    if importlib.util.find_spec("onnxruntime") is None:
        return None
    input_window = model.max_seq_length
    if not _exportable(model) or input_window is None:
        logger.info("litellm-semcache: %s is not a fixed-window mean-pooling model; using PyTorch", name)
        return None
    path = Path(cache_dir).expanduser() / f"{_fingerprint(model, name)}.onnx"
    try:
        if not path.exists():
            logger.info("litellm-semcache: exporting %s to ONNX at %s (once)", name, path)
            _export(model, path)
        encoder = OnnxEncoder(path, model.tokenizer, int(input_window))
        reference = model.encode(list(_CHECK_SENTENCES), normalize_embeddings=True, convert_to_numpy=True)
        difference = float(np.abs(encoder.encode(list(_CHECK_SENTENCES)) - reference).max())
    except Exception as exc:  # any export/runtime problem: PyTorch still works
        logger.warning("litellm-semcache: ONNX export of %s failed (%s); embedding with PyTorch", name, exc)
        return None
    if difference > _MAX_DIFFERENCE:
        logger.warning(
            "litellm-semcache: ONNX vectors of %s differ from PyTorch's by %.2g; using PyTorch",
            name,
            difference,
        )
        return None
    return encoder
