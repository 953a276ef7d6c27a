"""bench/bench_assist.py's conditions on a tiny group with a stand-in click model: the ``oracle``
ceiling proposes every other pair exactly, so after ``k`` confirmed images it costs the clicks of
those ``k`` plus one accept per remaining positive and one bulk action for the negatives."""

from __future__ import annotations

import numpy as np

from bench.bench_assist import build_project, run_group
from bench.paste_groups import PastedGroup, PastedImage
from tests.pipelines.test_propagate import LAYOUTS, ColourSegmenter, _image


def test_oracle_ceiling_costs_the_first_clicks_one_accept_per_positive_and_one_bulk(tmp_path):
    rng = np.random.default_rng(0)
    items = []
    for k, (discs, distractor) in enumerate(LAYOUTS):
        pixels, masks = _image(rng, discs, distractor)
        items.append(PastedImage(f"disc-{k}", pixels, masks))
    project, truth = build_project(tmp_path / "p", [PastedGroup("disc", items)])
    (group,) = project.store.list_groups()
    segmenter = ColourSegmenter()
    positives = sum(bool(m) for m, _ in LAYOUTS)
    for bulk in (False, True):
        none = run_group(project, truth, segmenter, group, "none", 0, bulk)
        for k in (1, 2):
            oracle = run_group(project, truth, segmenter, group, "oracle", k, bulk)
            first_pairs, first_actions = oracle["cases"]["confirmed first"]
            assert first_pairs == k
            assert oracle["pairs"] == none["pairs"] == len(LAYOUTS)
            assert oracle["cases"]["accepted"] == [positives - k, positives - k]
            assert oracle["actions"] == first_actions + (positives - k) + 1
            assert oracle["actions"] <= none["actions"]
    both = run_group(project, truth, segmenter, group, "grser+propagation", 2, True)
    assert both["pairs"] == len(LAYOUTS) and both["cases"]["confirmed first"][0] == 2
    assert both["proposed"] == len(LAYOUTS) - 2  # propagation replaced every GRSer proposal
    project.close()
