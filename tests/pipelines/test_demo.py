"""The demo a new user gets: which pairs carry model proposals, and from which mechanism."""

from __future__ import annotations

import pytest

from labeler.domain import DecisionStatus
from pipelines.services.demo import DEMO_CHECKPOINT, build_demo


@pytest.mark.skipif(not DEMO_CHECKPOINT.exists(), reason="bundled demo checkpoint absent")
def test_the_synthetic_only_model_proposes_on_synthetic_groups_and_never_on_photos(tmp_path):
    """The bundled GRSer knows synthetic shapes only: on photos it proposed the cat "absent" for
    "the cat". Photo pairs start unseen (propagation proposes them after a confirmation);
    every synthetic pair carries a GRSer proposal stamped with the model's version."""
    with build_demo(tmp_path / "demo") as project:
        store = project.store
        photo_pairs = synthetic_pairs = 0
        for group in store.list_groups():
            images = [im.id for im in store.list_images(group.id)]
            for expr in store.list_expressions(group.id):
                for decision in store.decisions_for_expression(expr.id, images).values():
                    if group.meta.get("synthetic"):
                        synthetic_pairs += 1
                        assert decision.status is DecisionStatus.PROPOSED
                        assert decision.model_version and decision.score is not None
                    else:
                        photo_pairs += 1
                        assert decision.status is DecisionStatus.UNSEEN, (group.name, expr.text)
        assert photo_pairs == 5 * 3 + 5 * 2 and synthetic_pairs > 0
