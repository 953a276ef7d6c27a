"""`grd users ...`, `grd assign`, `grd agreement` through typer's runner on a SQLite project."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from labeler.accounts import SignInRefused
from labeler.project import Project
from labeler.store.repository import utcnow
from pipelines.cli import app

runner = CliRunner()


def _project(tmp_path):
    folder = tmp_path / "proj"
    assert runner.invoke(app, ["init", str(folder)]).exit_code == 0
    project = Project.open(folder)
    group = project.store.create_group("dogs", "dog", "beach")
    project.store.add_image(group.id, "a.png", 8, 8, "h1")
    project.store.add_expression(group.id, "the dog")
    return folder, project


def test_users_lifecycle(tmp_path):
    folder, project = _project(tmp_path)
    d = str(folder)
    assert "local single-user mode" in runner.invoke(app, ["users", "list", d]).output
    first = runner.invoke(app, ["users", "add", d, "ann", "--password-stdin"], input="pw-pw-pw-1\n")
    assert first.exit_code == 2 and "first user of a project must be an admin" in first.output
    ok = runner.invoke(
        app,
        ["users", "add", d, "root", "--role", "admin", "--password-stdin"],
        input="pw-pw-pw-1\n",
    )
    assert ok.exit_code == 0, ok.output
    runner.invoke(app, ["users", "add", d, "ann", "--password-stdin"], input="pw-pw-pw-2\n")
    assert runner.invoke(app, ["users", "list", d]).output.split() == [
        "ann",
        "annotator",
        "root",
        "admin",
    ]
    for _ in range(3):  # three wrong passwords lock ann's sign-in; the list says until when
        with pytest.raises(SignInRefused):
            project.store.sign_in("ann", "wrong wrong")
    listed = runner.invoke(app, ["users", "list", d]).output
    assert re.search(r"ann\s+annotator\s+sign-in locked until \d\d:\d\d:\d\d UTC", listed)
    assert re.search(r"^root\s+admin$", listed, re.M)
    project.store.sign_in("ann", "pw-pw-pw-2", now=utcnow() + timedelta(minutes=1))  # unlocks
    assert runner.invoke(app, ["users", "role", d, "ann", "reviewer"]).exit_code == 0
    bad = runner.invoke(app, ["users", "role", d, "ann", "boss"])
    assert bad.exit_code == 2 and "unknown role" in bad.output
    assert project.store.sign_in("ann", "pw-pw-pw-2")
    assert runner.invoke(app, ["users", "remove", d, "ann"]).exit_code == 0
    assert runner.invoke(app, ["users", "list", d]).output.split() == ["root", "admin"]
    long_name = runner.invoke(
        app, ["users", "add", d, "x" * 5000, "--password-stdin"], input="pw-pw-pw-3\n"
    )
    assert long_name.exit_code == 2 and "user name is 5,000 characters long" in long_name.output


def test_assign_and_agreement(tmp_path):
    folder, project = _project(tmp_path)
    d = str(folder)
    runner.invoke(
        app,
        ["users", "add", d, "root", "--role", "admin", "--password-stdin"],
        input="pw-pw-pw-1\n",
    )
    runner.invoke(app, ["users", "add", d, "ann", "--password-stdin"], input="pw-pw-pw-2\n")
    refused = runner.invoke(app, ["assign", d, "--group", "dogs", "--to", "ann", "--as", "ann"])
    assert refused.exit_code == 2 and "may not assign" in refused.output
    done = runner.invoke(
        app, ["assign", d, "--group", "dogs", "--expression", "the dog", "--to", "ann"]
    )
    assert done.exit_code == 0, done.output
    assert project.store.assigned_expressions("ann") == [project.store.list_expressions()[0].id]
    report = runner.invoke(app, ["agreement", d])
    assert report.exit_code == 0 and "no pair was judged by two annotators" in report.output


def test_export_reviewed_only(tmp_path):
    import json

    folder, project = _project(tmp_path)
    store = project.store
    for name, role in (("root", "admin"), ("ann", "annotator"), ("rev", "reviewer")):
        store.add_user(name, role, "pw-pw-pw-1")
    group = store.list_groups()[0]
    image = store.list_images(group.id)[0]
    expr = store.list_expressions(group.id)[0]
    store.save_decision(expr.id, image.id, "negative", author="ann", expected_revision=0)

    def exported(*flags):
        out = tmp_path / f"out{len(flags)}{len(store.reviewed_pairs())}"
        result = runner.invoke(app, ["export", str(folder), str(out), *flags])
        assert result.exit_code == 0, result.output
        return json.loads((out / "expressions.json").read_text())["expressions"]

    everything = tmp_path / "all"
    assert runner.invoke(app, ["export", str(folder), str(everything)]).exit_code == 0
    assert exported("--reviewed-only") == []  # not reviewed yet: the expression is incomplete
    store.review(expr.id, image.id, "accepted", reviewer="rev")
    assert len(exported("--reviewed-only")) == 1


def test_ui_refuses_a_public_address_without_users(tmp_path):
    folder, _ = _project(tmp_path)
    result = runner.invoke(app, ["ui", str(folder), "--address", "0.0.0.0", "--port", "0"])
    assert result.exit_code == 2
    assert "has no users" in result.output and "grd users add" in result.output


def test_review_and_gold_commands(tmp_path):
    folder, project = _project(tmp_path)
    d, store = str(folder), project.store
    for name, role in (("root", "admin"), ("ann", "annotator"), ("rev", "reviewer")):
        store.add_user(name, role, "pw-pw-pw-1")
    expr = store.list_expressions()[0].id
    image = store.list_images()[0].id
    store.save_decision(expr, image, "negative", author="ann", expected_revision=0)
    args = ["review", d, str(expr), str(image), "--reject", "--as"]
    refused = runner.invoke(app, [*args, "ann", "--reason", "no"])
    assert refused.exit_code == 2 and "may not review" in refused.output
    no_reason = runner.invoke(app, [*args, "rev"])
    assert no_reason.exit_code == 2 and "reason is empty" in no_reason.output
    done = runner.invoke(app, [*args, "rev", "--reason", "a dog hides left"])
    assert done.exit_code == 0, done.output
    assert [r.reason for r in store.rejections_for("ann")] == ["a dog hides left"]
    assert runner.invoke(app, ["gold", d, str(expr), str(image)]).exit_code == 0
    assert store.gold() == {(expr, image): ("negative", [])}
    assert "gold ann 1/1 100%" in " ".join(runner.invoke(app, ["agreement", d]).output.split())


def _blind_project(tmp_path):
    """ "the dog" on ten 8x8 images (ten pairs); root (admin), ann and bea (annotators)."""
    folder, project = _project(tmp_path)
    store = project.store
    group = store.list_groups()[0]
    for k in range(2, 11):
        store.add_image(group.id, f"{k}.png", 8, 8, f"h{k}")
    for name, role in (("root", "admin"), ("ann", "annotator"), ("bea", "annotator")):
        store.add_user(name, role, "pw-pw-pw-1")
    return str(folder), store


def _rows(rows: int) -> dict:
    import numpy as np

    from labeler import rle

    m = np.zeros((8, 8), dtype=bool)
    m[:rows] = True
    return rle.encode(m)


def test_assign_a_blind_share_to_a_second_annotator(tmp_path):
    from labeler.blind import BlindPair, choose_overlap

    d, store = _blind_project(tmp_path)
    base = ["assign", d, "--group", "dogs", "--to", "ann"]
    alone = runner.invoke(app, [*base, "--second-to", "bea"])
    assert alone.exit_code == 2 and "--second-to and --overlap go together" in alone.output
    too_much = runner.invoke(app, [*base, "--second-to", "bea", "--overlap", "1.5"])
    assert too_much.exit_code == 2 and "between 0 and 1" in too_much.output
    refused = runner.invoke(app, [*base, "--second-to", "bea", "--overlap", "0.2", "--as", "ann"])
    assert refused.exit_code == 2 and "may not assign" in refused.output
    assert store.blind_pairs() == [] and store.assignments() == []

    done = runner.invoke(app, [*base, "--second-to", "bea", "--overlap", "0.2"])
    assert done.exit_code == 0, done.output
    assert "blind: 2 of 10 pairs also to bea (seed 0; 2 new, 0 already blind)" in done.output
    expr = store.list_expressions()[0].id
    pairs = [(expr, i.id) for i in store.list_images()]
    assert store.blind_pairs() == [
        BlindPair(e, i, "ann", "bea") for e, i in choose_overlap(pairs, 0.2, seed=0)
    ]
    assert store.assigned_expressions("ann") == [expr]
    again = runner.invoke(app, [*base, "--second-to", "bea", "--overlap", "0.2"])
    assert "(seed 0; 0 new, 2 already blind)" in again.output  # same draw: nothing new
    same = runner.invoke(app, [*base, "--second-to", "bea", "--overlap", "0.2", "--seed", "3"])
    assert same.exit_code == 0 and len(store.blind_pairs()) > 2  # another seed, other pairs


def test_agreement_from_blind_pairs_by_hand(tmp_path):
    """Four blind pairs (overlap 0.4 of 10). ann (decisions): + + - -, bea (blind): + - - -; on
    the pair both call positive ann's mask is 4 rows, bea's 2. p_o = 3/4, p_e = .5*.25 + .5*.75
    = .5, kappa = .5; IoU = 16/32 = .5. bea's one save of an open pair, against ann's earlier
    one, would count under "last saves" but not here."""
    d, store = _blind_project(tmp_path)
    before = runner.invoke(app, ["agreement", d])
    assert "source: each annotator's last own save" in " ".join(before.output.split())
    runner.invoke(
        app,
        ["assign", d, "--group", "dogs", "--to", "ann", "--second-to", "bea", "--overlap", "0.4"],
    )
    blind = [p.image_id for p in store.blind_pairs()]
    expr = store.list_expressions()[0].id
    for author, plan in (("ann", "++--"), ("bea", "+---")):
        for image, sign in zip(blind, plan, strict=True):
            masks = [_rows(4 if author == "ann" else 2)] if sign == "+" else []
            status = "positive" if sign == "+" else "negative"
            store.save_decision(expr, image, status, masks, author=author, expected_revision=0)
    open_pair = next(i.id for i in store.list_images() if i.id not in blind)
    store.save_decision(expr, open_pair, "negative", author="ann", expected_revision=0)
    store.save_decision(expr, open_pair, "positive", [_rows(1)], author="bea", expected_revision=1)
    store.mark_gold(expr, blind[1], actor="root")  # gold: ann's "positive"
    report = runner.invoke(app, ["agreement", d])
    assert report.exit_code == 0, report.output
    text = " ".join(report.output.replace("│", " ").split())
    assert "source: blind pairs" in text
    assert "ann bea 4 0.500 1 0.500" in text  # shared, kappa, both positive, mean IoU
    assert "the dog ann bea 4 0.500 1 0.500" in text  # per expression
    assert "ann 4 75% of 4 100% of 1" in text  # per annotator: judged, agreement, gold
    assert "bea 4 75% of 4 0% of 1" in text
    assert "gold ann 1/1 100%" in text and "gold bea 0/1 0%" in text
