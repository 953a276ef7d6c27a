"""Builder, variant registry and config round trips."""

from __future__ import annotations

import json

import pytest
import torch

from model import CONFIGS, ConfigError, GRSerConfig, build_grser, get_config
from model.config import EFFICIENTNET_LITE0_PACKAGE, MINILM_PACKAGE
from model.visual_encoder import _read_state_dict


def test_registry_names():
    assert {"tiny", "offline", "paper"} <= set(CONFIGS)
    assert get_config("paper").c_v == 512 and get_config("paper").image_size == 416
    assert get_config("paper").group_size == 8 and get_config("paper").margin == 1.0
    assert "window12" in get_config("paper").backbone
    assert get_config("offline").backbone_weights == EFFICIENTNET_LITE0_PACKAGE
    assert get_config("offline").text_encoder == MINILM_PACKAGE


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_config_dict_round_trip_through_json(name):
    cfg = get_config(name, group_size=3, hierarchizer_train="random")
    data = json.loads(json.dumps(cfg.to_dict()))
    assert GRSerConfig.from_dict(data) == cfg


def test_bad_configs_are_named():
    with pytest.raises(ConfigError, match="unknown GRSerConfig fields"):
        GRSerConfig.from_dict({"group_sise": 3})
    with pytest.raises(ConfigError, match="hierarchizer_test"):
        GRSerConfig(hierarchizer_test="best")
    with pytest.raises(ConfigError, match="group_size"):
        get_config("tiny", group_size=0)
    with pytest.raises(ConfigError, match="unknown GRSer variant"):
        build_grser("huge")
    with pytest.raises(ConfigError, match="text_encoder"):
        build_grser("paper")  # BERT-base must be given as a local dir


def test_overrides_reach_the_network():
    model = build_grser("tiny", group_size=5, c_v=24, use_tqm=True, margin=2.0)
    assert model.config.group_size == 5 and model.config.margin == 2.0
    assert model.tqm.omega_l.out_features == 24
    assert model.decoder.stem[0][0].in_channels == 5 + 1 + 24


def test_model_package_does_not_import_the_rest_of_the_project():
    import subprocess
    import sys

    code = (
        "import sys, model; bad = [m for m in sys.modules if m.split('.')[0] in "
        "('labeler', 'pipelines', 'exports', 'ui', 'streamlit', 'sqlalchemy')]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_offline_variant_loads_packaged_weights():
    model = build_grser("offline")
    source = _read_state_dict(EFFICIENTNET_LITE0_PACKAGE)
    stem = dict(model.visual_encoder.body.named_parameters())["conv_stem.weight"]
    torch.testing.assert_close(stem, source["_conv_stem.weight"])
    assert model.text_encoder.hidden_size == 384 and model.text_encoder.init == "pretrained"
    model.eval()
    with torch.no_grad():
        out = model(torch.rand(1, 2, 3, 64, 64), ["a dog on the grass"])
    assert out["mask_logits"].shape == (1, 2, 64, 64)


def test_offline_without_pretrained_skips_file_reads():
    model = build_grser("offline", load_pretrained=False)
    source = _read_state_dict(EFFICIENTNET_LITE0_PACKAGE)
    stem = dict(model.visual_encoder.body.named_parameters())["conv_stem.weight"]
    assert not torch.allclose(stem, source["_conv_stem.weight"])


@pytest.mark.slow
def test_paper_variant_builds_with_random_weights():
    model = build_grser("paper", text_encoder_init="random", image_size=224)
    assert model.text_encoder.hidden_size == 768
    assert model.visual_encoder.channels == [128, 256, 512, 1024]
    assert model.decoder.stem[0][0].in_channels == 8 + 1 + 512
    model.eval()
    with torch.no_grad():
        out = model(torch.rand(1, 2, 3, 224, 224), ["a man in a red jacket"])
    assert out["mask_logits"].shape == (1, 2, 224, 224)
