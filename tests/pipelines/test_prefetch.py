"""Embeddings ahead of the annotator: sweep order from the image on screen, each image once."""

from __future__ import annotations

import numpy as np
from PIL import Image

from labeler.project import Project
from pipelines.click_models.prefetch import embed_images, missing, starting_at, sweep_order


class CountingSegmenter:
    model_id = "counting-test"

    def __init__(self):
        self.embedded: list[tuple[int, ...]] = []

    def embed(self, image):
        self.embedded.append(image.shape)
        return {"mean": np.array([image.mean()], np.float32)}

    def predict(self, embedding, prompts):
        raise NotImplementedError


def _project(tmp_path, n=4):
    """A group of ``n`` images of different widths (so the embedding order can be read back),
    proposals scored so that the sweep order is the reverse of the ids."""
    project = Project.init(tmp_path / "p")
    store = project.store
    group = store.create_group("g")
    expr = store.add_expression(group.id, "the thing")
    images = []
    for k in range(n):
        rel = f"images/{k}.png"
        Image.fromarray(np.full((8, 10 + k, 3), 40 * k, np.uint8)).save(project.root / rel)
        images.append(store.add_image(group.id, rel, 10 + k, 8, f"hash{k:08d}")[0])
        store.propose(expr.id, images[-1].id, [], score=0.1 * k, model_version="m")
    return project, group, images


def test_sweep_order_from_the_image_on_screen_and_each_image_once(tmp_path):
    project, group, images = _project(tmp_path)
    order = sweep_order(project.store, group.id)
    assert [im.id for im in order] == [im.id for im in reversed(images)]  # best score first
    from_second = starting_at(order, order[1].id)
    assert [im.id for im in from_second] == [im.id for im in order[1:] + order[:1]]
    seg = CountingSegmenter()
    progress = []
    assert embed_images(project, seg, from_second, lambda f, m: progress.append(m)) == (4, 0)
    widths = [shape[1] for shape in seg.embedded]
    assert widths == [im.width for im in from_second]  # in the order asked
    assert progress[0] == "embedding image 1 of 4" and len(progress) == 4
    assert missing(project, seg, order) == []
    assert embed_images(project, seg, order) == (0, 4) and len(seg.embedded) == 4
    project.close()


def test_background_embeddings_wait_for_a_lull_in_the_clicks(tmp_path):
    """While the annotator clicks, no new embedding starts; once the clicks stop for
    ``quiet_s`` the job goes on; a never-ending stream of clicks holds it at most ``max_wait_s``."""
    import threading
    import time

    from pipelines.click_models.prefetch import ClickClock

    project, group, images = _project(tmp_path, n=2)
    clicks = ClickClock(quiet_s=0.3, max_wait_s=5.0)
    seg = CountingSegmenter()
    clicking = threading.Event()
    clicking.set()

    def annotator():  # clicks every 50 ms until told to stop
        while clicking.is_set():
            clicks.touch()
            time.sleep(0.05)

    threading.Thread(target=annotator, daemon=True).start()
    time.sleep(0.1)
    job = threading.Thread(
        target=embed_images, args=(project, seg, images), kwargs={"clicks": clicks}
    )
    job.start()
    time.sleep(0.8)
    assert seg.embedded == []  # held while the clicks go on
    clicking.clear()
    job.join(timeout=5)
    assert not job.is_alive() and len(seg.embedded) == 2

    impatient = ClickClock(quiet_s=10.0, max_wait_s=0.2)
    impatient.touch()
    started = time.monotonic()
    assert impatient.wait_for_lull() >= 0.2 and time.monotonic() - started < 2
    assert ClickClock().wait_for_lull() < 0.01  # no click yet: no wait
    project.close()
