"""Learned models, side by side: where their files come from (offline) and how they run (ONNX Runtime).

The embedding model is resolved by :mod:`.resolve`; every model exported or shipped as ONNX runs in
sessions made by :mod:`.onnx`. Shipped artifacts live in ``litellm_semcache/artifacts/<name>/``, each with
its card; their training scripts live in ``training/<name>/``.
"""
