"""An import whose LAST record breaks a limit (too-long expression, NUL in a group name) is refused
before anything is written, on SQLite and PostgreSQL: no rows, no image files, one-line error.
A corrected re-run then completes."""

import json
import shutil

import pytest

from labeler.errors import ImportFormatError
from labeler.limits import TEXT_LIMITS
from labeler.project import Project
from pipelines.intake.imports import import_snapshot, read_source


def _files(root):
    return sorted(p.relative_to(root) for p in (root / "images").rglob("*") if p.is_file())


BREAKS = {
    "too-long expression in the last record": (
        lambda i, e: e["expressions"][-1].update(text="x" * (TEXT_LIMITS["expression"] + 1)),
        "expression is 501 characters long; the limit is 500",
    ),
    "NUL in the last group name": (
        lambda i, e: i["grd_groups"][-1].update(name="bad\x00name"),
        "group name holds a control character",
    ),
}


@pytest.mark.parametrize("case", list(BREAKS))
def test_a_bad_last_record_leaves_the_project_unchanged_and_a_rerun_completes(
    case, database_url, coco_dir, small_project, tmp_path
):
    change, message = BREAKS[case]
    instances = json.loads((coco_dir / "instances.json").read_text())
    expressions = json.loads((coco_dir / "expressions.json").read_text())
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    change(instances, expressions)
    (bad_dir / "instances.json").write_text(json.dumps(instances))
    (bad_dir / "expressions.json").write_text(json.dumps(expressions))

    root = tmp_path / "p"
    with Project.init(root, database_url=database_url) as project:
        before = project.store.counts()
        with pytest.raises(ImportFormatError, match=message) as info:
            import_snapshot(
                project, read_source("coco", bad_dir / "instances.json"), small_project.root
            )
        assert "\n" not in str(info.value)
        assert project.store.counts() == before
    assert _files(root) == []
    assert (root / "project.db").exists() == (database_url == "")  # PostgreSQL really used

    good_dir = tmp_path / "good"
    shutil.copytree(coco_dir, good_dir)
    with Project.open(root) as project:
        report = import_snapshot(
            project, read_source("coco", good_dir / "instances.json"), small_project.root
        )
        assert report.decisions_written > 0
    assert _files(root) != []
