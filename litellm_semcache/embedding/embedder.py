"""Step 4 of the request path: turn a query into a normalized vector, off the event loop.

The model is loaded once per process. Encoding runs in one worker thread; requests that arrive while it
is busy are coalesced into the next batch (a batch of 32 costs about a quarter per query of 32 single
calls on a CPU). Queries longer than the model reads (256 word pieces for all-MiniLM-L6-v2) get no vector:
the model would silently ignore their tail, so they may only match exactly.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigError
from ..models.batching import MicroBatcher
from ..models.resolve import default_onnx_cache_dir, resolve_model_path
from .onnx_encoder import OnnxEncoder, load_onnx_encoder

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["Embedder", "Embedding"]

logger = logging.getLogger(__name__)

_RECENT_SIZE = 4096


@dataclass(frozen=True)
class Embedding:
    """A query's vector, or None when the query is longer than the model reads."""

    vector: np.ndarray[Any, np.dtype[np.float32]] | None
    tokens: int
    """Word pieces of the text; past the limit, possibly only a lower bound (the words counted)."""


class Embedder:
    """A sentence-transformers model behind an async, batching interface."""

    def __init__(
        self,
        model: str,
        *,
        max_batch_size: int = 32,
        max_query_tokens: int | None = None,
        max_chars: int = 4000,
        device: str | None = None,
        runtime: str = "auto",
        onnx_cache_dir: Path | None = None,
    ) -> None:
        self.model_name = model
        self.runtime = runtime
        self.onnx_cache_dir = onnx_cache_dir or default_onnx_cache_dir()
        self._onnx: OnnxEncoder | None = None
        self.max_batch_size = max_batch_size
        self.max_query_tokens = max_query_tokens
        self.max_chars = max_chars
        self.device = device or os.environ.get("SEMCACHE_DEVICE") or "cpu"
        self._batcher: MicroBatcher[str, Embedding] = MicroBatcher(
            self.encode_batch, max_batch_size=max_batch_size, name="embedding"
        )
        self._model: SentenceTransformer | None = None
        self._load_lock = threading.Lock()
        self._recent: OrderedDict[str, Embedding] = OrderedDict()
        self._recent_lock = threading.Lock()

    # --- loading ----------------------------------------------------------------------------------------
    def load(self) -> SentenceTransformer:
        """Load the model (once). Blocking: call at start-up or from the worker thread.

        Raises:
            ConfigError: the model cannot be loaded from the configured name or path.
        """
        if self._model is not None:
            return self._model
        with self._load_lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer

                path = resolve_model_path(self.model_name)
                try:
                    model = SentenceTransformer(path, device=self.device)
                except Exception as exc:
                    raise ConfigError(f"cannot load embedding model {self.model_name!r}: {exc}") from exc
                if self.runtime != "torch" and self.device == "cpu":
                    self._onnx = load_onnx_encoder(model, self.model_name, self.onnx_cache_dir)
                    if self._onnx is None and self.runtime == "onnx":
                        raise ConfigError(
                            f"embedding_runtime is onnx but {self.model_name!r} cannot run on it"
                        )
                self._model = model
        return self._model

    @property
    def onnx_encoder(self) -> OnnxEncoder | None:
        """The ONNX Runtime encoder in use (after :meth:`load`), or None when PyTorch encodes."""
        self.load()
        return self._onnx

    @property
    def runtime_in_use(self) -> str:
        """``onnx`` or ``torch``: what actually encodes (after :meth:`load`)."""
        self.load()
        return "onnx" if self._onnx is not None else "torch"

    @property
    def dimensions(self) -> int:
        """Length of the vectors (384 for all-MiniLM-L6-v2)."""
        model = self.load()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dimensions = getter()
        if dimensions is None:
            raise ConfigError(f"embedding model {self.model_name!r} does not report its vector length")
        return int(dimensions)

    @property
    def input_window(self) -> int:
        """Word pieces the model reads; the rest of a longer text is ignored by it."""
        limit = self.load().max_seq_length
        if limit is None:  # the long-prompt guarantees need the model's window
            raise ConfigError(f"embedding model {self.model_name!r} does not report its input length")
        return int(limit)

    # --- encoding ---------------------------------------------------------------------------------------
    def encode_batch(self, texts: list[str], token_limit: int | None = None) -> list[Embedding]:
        """Blocking encode of a batch; texts past the token limit get no vector."""
        model = self.load()
        limit = min(token_limit or self.max_query_tokens or self.input_window, self.input_window)
        # A megabyte prompt must not stall the batch: past `max_chars` a text is too long without looking
        # at it (text without spaces, such as CJK, has no words to count); below, every whitespace-separated
        # word is at least one word piece, so more words than the limit is too long without tokenizing.
        word_counts = [
            limit + 1 if len(text) > self.max_chars else len(text.split(None, limit + 1)) for text in texts
        ]
        short = [i for i, words in enumerate(word_counts) if words <= limit]
        token_counts = list(word_counts)
        if short:
            encoded = model.tokenizer([texts[i] for i in short], add_special_tokens=True, verbose=False)
            for i, ids in zip(short, encoded["input_ids"], strict=True):
                token_counts[i] = len(ids)
        fitting = [i for i, count in enumerate(token_counts) if count <= limit]
        vectors: np.ndarray[Any, np.dtype[np.float32]] | None = None
        if fitting and self._onnx is not None:
            vectors = self._onnx.encode([texts[i] for i in fitting])
        elif fitting:
            vectors = model.encode(
                [texts[i] for i in fitting],
                batch_size=max(len(fitting), 1),
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            ).astype(np.float32, copy=False)
        by_index = {index: row for row, index in enumerate(fitting)}
        results = []
        for i, count in enumerate(token_counts):
            vector = vectors[by_index[i]] if vectors is not None and i in by_index else None
            results.append(Embedding(vector=vector, tokens=count))
        return results

    def _remember(self, text: str, embedding: Embedding) -> None:
        with self._recent_lock:
            self._recent[text] = embedding
            self._recent.move_to_end(text)
            while len(self._recent) > _RECENT_SIZE:
                self._recent.popitem(last=False)

    def recent(self, text: str) -> Embedding | None:
        """The embedding of a text encoded lately (the write path reuses the lookup's)."""
        with self._recent_lock:
            return self._recent.get(text)

    async def embed(self, text: str) -> Embedding:
        """Encode one text in the next batch of this event loop.

        Raises:
            BackendUnavailable: the model failed.
        """
        cached = self.recent(text)
        if cached is not None:
            return cached
        embedding = await self._batcher.submit(text)
        self._remember(text, embedding)
        return embedding

    def close(self) -> None:
        """Stop the batching and the worker thread."""
        self._batcher.close()
