"""ONNX export and int8 quantization of a fine-tuned MiniLM sequence classifier (verifier and classifier).

Both models are ``BertForSequenceClassification``; the export has dynamic batch and length, inputs
``input_ids``, ``attention_mask``, ``token_type_ids`` and output ``logits`` (batch, labels).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

INPUTS = ["input_ids", "attention_mask", "token_type_ids"]
TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"]


def export(
    model_dir: Path, out: Path, sample: Sequence[str] = ("How many legs does a spider have?",)
) -> None:
    """torch.onnx export of the model in ``model_dir``; ``sample`` is one text or a (text, text) pair."""
    model = AutoModelForSequenceClassification.from_pretrained(str(model_dir)).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    encoded = tokenizer(*([s] for s in sample), return_tensors="pt")
    axes: dict[str, dict[int, str]] = {n: {0: "batch", 1: "tokens"} for n in INPUTS}
    axes["logits"] = {0: "batch"}

    class Wrapper(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
        ) -> torch.Tensor:
            logits: torch.Tensor = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).logits
            return logits

    out.parent.mkdir(parents=True, exist_ok=True)
    with torch.inference_mode():
        torch.onnx.export(
            Wrapper(),
            tuple(encoded[n] for n in INPUTS),
            str(out),
            input_names=INPUTS,
            output_names=["logits"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )


def quantize(source: Path, out: Path, skip_ffn_output: bool = False) -> None:
    """Dynamic int8 quantization of the weights (activations quantized at run time), per channel.

    ``skip_ffn_output`` keeps the feed-forward output projections (whose inputs, after GELU, have the
    widest range) in fp32: measured on the verifier's first model, it halves the mean difference to PyTorch.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    skipped = [
        node.name
        for node in onnx.load(str(source)).graph.node
        if skip_ffn_output
        and node.op_type == "MatMul"
        and node.name.endswith("/output/dense/MatMul")
        and "attention" not in node.name
    ]
    quantize_dynamic(
        str(source), str(out), weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=skipped
    )
