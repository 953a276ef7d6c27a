"""Text encoder: local-only loading, ``<no>`` as one real token, pooled and word features."""

from __future__ import annotations

import pytest
import torch

from model import WeightsNotFound
from model.text_encoder import TextEncoder, anti_expression, resolve_text_encoder_dir

TINY = dict(
    init="random",
    random_sizes=dict(
        hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
    ),
)


@pytest.fixture(scope="module")
def minilm():
    torch.manual_seed(0)
    return TextEncoder().eval()  # the packaged all-MiniLM-L6-v2 weights


def test_anti_expression_prefix():
    assert anti_expression("  man in red jacket ") == "<no> man in red jacket"


def test_no_is_a_single_added_token():
    encoder = TextEncoder(**TINY)
    tokens = encoder.tokenizer.tokenize(encoder.anti("man in red jacket"))
    assert tokens[0] == "<no>" and "<" not in tokens and ">" not in tokens
    assert encoder.anti_token_id == len(encoder.tokenizer) - 1
    assert encoder.encoder.get_input_embeddings().num_embeddings == len(encoder.tokenizer)
    # The plain word "no" is still the ordinary vocabulary token.
    assert encoder.tokenizer.tokenize("no man") == ["no", "man"]


def test_no_embedding_starts_as_the_word_no():
    encoder = TextEncoder(**TINY)
    table = encoder.encoder.get_input_embeddings().weight
    no_id = encoder.tokenizer.convert_tokens_to_ids("no")
    torch.testing.assert_close(table[encoder.anti_token_id], table[no_id])


def test_feature_shapes_and_padding_mask():
    encoder = TextEncoder(**TINY).eval()
    feats = encoder(["a dog", "the man on the left in a red jacket"])
    assert feats.sentence.shape == (2, 16)
    t = feats.words.shape[1]
    assert feats.words.shape == (2, t, 16) and feats.mask.shape == (2, t)
    assert feats.mask.dtype == torch.bool
    assert feats.mask[0].sum() == 4 and feats.mask[1].all()  # [CLS] a dog [SEP] + padding


def test_sentence_is_masked_mean_of_words():
    encoder = TextEncoder(**TINY).eval()
    with torch.no_grad():
        feats = encoder(["a dog", "a much longer expression here"])
        alone = encoder(["a dog"])
    expected = feats.words[0, feats.mask[0]].mean(0)
    torch.testing.assert_close(feats.sentence[0], expected)
    torch.testing.assert_close(feats.sentence[0], alone.sentence[0], atol=1e-5, rtol=1e-5)


def test_truncates_long_expressions():
    encoder = TextEncoder(max_length=8, **TINY)
    feats = encoder(["word " * 50])
    assert feats.words.shape[1] == 8


def test_missing_local_dir_is_named(tmp_path):
    with pytest.raises(WeightsNotFound, match="config.json"):
        resolve_text_encoder_dir(str(tmp_path / "no_such_bert"))


def test_packaged_minilm_is_loaded_with_its_weights(minilm):
    assert minilm.hidden_size == 384
    assert minilm.describe()["vocab_size"] == 30523
    with torch.no_grad():
        s = minilm(
            ["a man riding a horse", "a person on horseback", "a bowl of tomato soup"]
        ).sentence
    cos = torch.nn.functional.cosine_similarity
    # Pretrained sentence embeddings put paraphrases closer than unrelated sentences.
    assert cos(s[0], s[1], dim=0) > cos(s[0], s[2], dim=0) + 0.2


def test_minilm_anti_expression_differs_from_expression(minilm):
    with torch.no_grad():
        s = minilm(["the red car", minilm.anti("the red car")]).sentence
    assert not torch.allclose(s[0], s[1])
