"""Named errors of the model package. Each message says what is wrong and, where there is one, the fix."""


class ModelError(Exception):
    """Base class: every error model/ raises on purpose."""


class ConfigError(ModelError, ValueError):
    """A GRSerConfig field has an invalid value, or a config dict has unknown fields."""


class WeightsNotFound(ModelError, FileNotFoundError):
    """A local weights file or model directory that the config names does not exist."""


class WeightsMismatch(ModelError, ValueError):
    """A weights file does not fit the network it is loaded into (missing or misshapen tensors)."""


class CheckpointError(ModelError, ValueError):
    """A checkpoint file is not a GRSer checkpoint, is damaged, or holds values that cannot be saved safely."""


class InputError(ModelError, ValueError):
    """The images or expressions given to the model have the wrong shape, type or count."""
