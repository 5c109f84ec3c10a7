"""ONNX Runtime sessions for every model the package runs on the CPU."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["cpu_session"]


def cpu_session(path: Path, threads: int = 1, spin: bool = False) -> Any:
    """A CPU inference session on ``threads`` cores.

    The package runs every model on one thread without spinning: a proxy's model calls come between other
    work, and at that spacing a second thread's wake-up costs more than it saves (a lone verifier pass on
    2 cores: 4.3 ms on one thread, 7.1 ms on two spinning; ``benchmarks/model_threads.py``), while
    spinning threads burn the cores the event loop and the other model need under load.
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
