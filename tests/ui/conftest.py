"""UI test fixtures: a small demo project with proposals, AppTest runner, a served app + Chromium."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from labeler import rle
from labeler.project import Project

REPO = Path(__file__).resolve().parents[2]
APP_FILE = str(REPO / "streamlit_app.py")
ARTIFACTS = REPO / "artifacts"


def centre_box_rle(image, fraction: float = 0.4) -> dict:
    """A proposal-like mask: a box around the image centre."""
    m = np.zeros((image.height, image.width), dtype=bool)
    h, w = int(image.height * fraction / 2), int(image.width * fraction / 2)
    m[
        image.height // 2 - h : image.height // 2 + h, image.width // 2 - w : image.width // 2 + w
    ] = True
    return rle.encode(m)


def add_proposals(
    project: Project, expression_id: int, present: dict[int, float], absent: dict[int, float]
):
    """Model proposals: ``present`` image id -> score (with a mask), ``absent`` -> score (no mask)."""
    store = project.store
    for image_id, score in present.items():
        image = store.get_image(image_id)
        store.propose(
            expression_id, image_id, [centre_box_rle(image)], score=score, model_version="test-1"
        )
    for image_id, score in absent.items():
        store.propose(expression_id, image_id, [], score=score, model_version="test-1")


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    """The demo project without its pre-labels (every pair unseen: tests add what they need),
    built once per session and copied per test."""
    from pipelines.services.demo import build_demo

    root = tmp_path_factory.mktemp("demo_template") / "demo"
    build_demo(root, prelabel=False).close()
    return root


@pytest.fixture
def demo_project(demo_template, tmp_path, monkeypatch) -> Project:
    """A fresh copy of the demo project, served to AppTest through GRD_PROJECT."""
    root = tmp_path / "demo"
    shutil.copytree(demo_template, root)
    monkeypatch.setenv("GRD_PROJECT", str(root))
    project = Project.open(root)
    yield project
    project.close()


@pytest.fixture
def app(demo_project):
    """An AppTest of the whole app, signed in as ``ann`` (a signed local-mode session token rides
    in the URL, as after a sign-in)."""
    from streamlit.testing.v1 import AppTest

    from ui import resources

    resources.forget_project()
    at = AppTest.from_file(APP_FILE, default_timeout=60)
    at.query_params["session"] = demo_project.store.local_token("ann")
    return at


def _one_page(page_name: str) -> None:
    """An app of one page (AppTest cannot follow ``st.navigation`` to a callable page by URL)."""
    import importlib

    from ui import state

    state.set_annotator("ann")
    importlib.import_module(f"ui.pages.{page_name}").render()


@pytest.fixture
def page_app(demo_project):
    """``page_app("data")``: an AppTest running just that page, signed in as ``ann``."""
    from streamlit.testing.v1 import AppTest

    from ui import resources

    resources.forget_project()
    return lambda name: AppTest.from_function(_one_page, args=(name,), default_timeout=60)
