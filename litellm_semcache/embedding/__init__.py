"""Step 4: the query's vector, off the event loop, micro-batched, on ONNX Runtime when possible."""

from __future__ import annotations

from .embedder import Embedder, Embedding

__all__ = ["Embedder", "Embedding"]
