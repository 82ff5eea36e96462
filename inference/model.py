"""The classifier: a shared transformer encoder, mean pooling, one linear head per label axis."""

from __future__ import annotations

import torch
from torch import nn
from transformers import AutoModel, PretrainedConfig


class FramingModel(nn.Module):
    """Encoder + one head per axis; `forward` returns {axis: logits}."""

    def __init__(self, encoder: nn.Module, axes: dict[str, list[str]], dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        self.axes = {name: list(labels) for name, labels in axes.items()}
        hidden = encoder.config.hidden_size
        self.dropout = nn.Dropout(dropout)
        self.heads = nn.ModuleDict({name: nn.Linear(hidden, len(labels)) for name, labels in self.axes.items()})

    @classmethod
    def from_pretrained_encoder(cls, path: str, axes: dict[str, list[str]], dropout: float = 0.1) -> "FramingModel":
        """Start from a pre-trained encoder folder (heads initialised at random)."""
        return cls(AutoModel.from_pretrained(path, use_safetensors=True), axes, dropout)

    @classmethod
    def from_encoder_config(cls, config: PretrainedConfig, axes: dict[str, list[str]], dropout: float = 0.1) -> "FramingModel":
        """An untrained model of the given shape, to load saved weights into (or for tests)."""
        return cls(AutoModel.from_config(config), axes, dropout)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        # Mean pooling over real tokens: the convention for this sentence encoder, whose pooler is untrained.
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        pooled = self.dropout(pooled)
        return {name: head(pooled) for name, head in self.heads.items()}
