"""A malicious checkpoint is refused in ONE line naming the file and the global, without torch's
multi-line text (which suggests ``weights_only=False``); nothing from the file runs."""

import os
import pickle

import pytest
import torch

from model.errors import CheckpointError
from model.safe_load import load_weights

RAN = []


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_a_checkpoint_naming_code_is_refused_in_one_line(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"model": _Evil()}, path)
    with pytest.raises(CheckpointError) as info:
        load_weights(path, "checkpoint")
    message = str(info.value)
    assert "\n" not in message and "evil.pt" in message
    assert "system" in message and "weights_only=False" not in message


def test_a_file_that_is_not_a_checkpoint_is_one_line(tmp_path):
    path = tmp_path / "junk.pt"
    path.write_bytes(pickle.dumps([1, 2])[:5])
    with pytest.raises(CheckpointError) as info:
        load_weights(path, "SAM checkpoint")
    assert "\n" not in str(info.value) and "junk.pt is not a readable SAM checkpoint" in str(
        info.value
    )


def test_plain_weights_load(tmp_path):
    path = tmp_path / "ok.pt"
    torch.save({"w": torch.ones(2)}, path)
    assert torch.equal(load_weights(path)["w"], torch.ones(2))
