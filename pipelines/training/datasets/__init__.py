"""GRES dataset readers: the project store, D³ / GRD, RefCOCO family + gRefCOCO, synthetic scenes.

Each reader returns ``list[GresGroup]`` (``pipelines.training.datasets.base``); ``load_groups`` picks one by
the form of its path.
"""

from pipelines.training.datasets.base import GresGroup, GresItem, summarize

__all__ = ["GresGroup", "GresItem", "summarize"]
