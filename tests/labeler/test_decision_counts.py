"""The decision counts the write path keeps never drift from the decisions table: random sequences
of every kind of write (single saves, stale saves, proposals, bulk accept and negative, undo,
import, expression delete), on SQLite and PostgreSQL, then the kept counts equal a recount and the
progress queries equal counting by hand."""

from __future__ import annotations

import random

import numpy as np
import pytest

from labeler import rle
from labeler.errors import LabelerError, StaleRevision
from labeler.store import counts

AUTHORS = ("ann", "bob", "cy")


def _mask(rng: random.Random) -> dict:
    m = np.zeros((40, 60), bool)
    y, x = rng.randrange(0, 30), rng.randrange(0, 50)
    m[y : y + 8, x : x + 8] = True
    return rle.encode(m)


def _check(store) -> None:
    with store.engine.connect() as conn:
        assert counts.stored(conn) == counts.recount(conn)
    decisions = {
        (e.id, i): d
        for e in store.list_expressions()
        for i, d in store.decisions_for_expression(e.id).items()
    }
    for p in store.expression_progress():
        mine = [d for (e, _), d in decisions.items() if e == p.expression_id]
        assert (p.positive, p.negative, p.proposed) == tuple(
            sum(d.status.value == s for d in mine) for s in ("positive", "negative", "proposed")
        )
    by_author = {a.author: (a.positive, a.negative) for a in store.annotator_progress()}
    expected = {}
    for d in decisions.values():
        if d.status.value in ("positive", "negative"):
            pos, neg = expected.get(d.author, (0, 0))
            expected[d.author] = (
                pos + (d.status.value == "positive"),
                neg + (d.status.value == "negative"),
            )
    assert by_author == expected


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_counts_follow_every_kind_of_write(store, seed):
    rng = random.Random(seed)
    groups = []
    for g in range(2):
        group = store.create_group(f"g{g}", "t", "s")
        images = [
            store.add_image(group.id, f"images/{g}_{i}.png", 60, 40, f"h{g}{i}")[0]
            for i in range(5)
        ]
        groups.append((group, images))
    expressions = [
        (store.add_expression(group.id, f"thing {g}.{k}"), images)
        for g, (group, images) in enumerate(groups)
        for k in range(3)
    ]
    batches: list[str] = []
    for _ in range(40):
        live = [
            (e, im) for e, im in expressions if any(x.id == e.id for x in store.list_expressions())
        ]
        expr, images = rng.choice(live)
        image = rng.choice(images)
        author = rng.choice(AUTHORS)
        op = rng.choice(
            ["save", "stale", "propose", "accept", "negatives", "undo", "import", "delete"]
        )
        current = store.get_decision(expr.id, image.id)
        try:
            if op == "save":
                status = rng.choice(["positive", "negative"])
                store.save_decision(
                    expr.id,
                    image.id,
                    status,
                    [_mask(rng)] if status == "positive" else [],
                    author=author,
                    expected_revision=current.revision,
                )
            elif op == "stale":
                with pytest.raises(StaleRevision):
                    store.save_decision(
                        expr.id,
                        image.id,
                        "negative",
                        author=author,
                        expected_revision=current.revision + 1,
                    )
            elif op == "propose":
                store.propose(
                    expr.id,
                    image.id,
                    [_mask(rng)] if rng.random() < 0.5 else [],
                    score=rng.random(),
                    model_version=rng.choice(["v1", "v2"]),
                )
            elif op == "accept":
                result = store.accept_proposals(expr.id, [i.id for i in images], author=author)
                batches += [result.batch_id] if result.batch_id else []
            elif op == "negatives":
                ids = None if rng.random() < 0.5 else [i.id for i in rng.sample(images, 2)]
                result = store.confirm_negatives(expr.id, ids, author=author)
                batches += [result.batch_id] if result.batch_id else []
            elif op == "undo" and batches:
                store.undo_batch(rng.choice(batches), author=author)
            elif op == "import":
                free = [i for i in images if store.get_decision(expr.id, i.id).revision == 0]
                if free:
                    batches.append(
                        store.import_decisions(
                            [(expr.id, i.id, "negative", [], author) for i in free[:2]]
                        )
                    )
            elif op == "delete" and len(live) > 2:
                store.delete_expression(expr.id, author="ann", force=True)
        except LabelerError:
            pass  # e.g. undoing a batch of a deleted expression: refused, nothing written
        _check(store)
