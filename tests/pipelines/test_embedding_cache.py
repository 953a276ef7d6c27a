"""Embedding cache: a second request does not recompute; memory is bounded; disk is float16."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from pipelines.click_models.embedding_cache import (
    EmbeddingCache,
    cached_embedding,
    image_hash,
    shared_cache,
)


class CountingSegmenter:
    """Embeds by averaging pixels into a small float map, counting each (expensive) call."""

    def __init__(self, model_id="count-v1", delay=0.0):
        self.model_id = model_id
        self.calls = 0
        self.delay = delay

    def embed(self, image):
        self.calls += 1
        time.sleep(self.delay)
        feats = image.astype(np.float32).mean(axis=2)[::4, ::4] / 7.0
        return {"features": feats, "original_size": np.array(image.shape[:2], dtype=np.int64)}


def img(seed, h=64, w=96):
    return np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)


def test_second_request_hits_memory_without_recomputing(tmp_path):
    seg, cache = CountingSegmenter(), EmbeddingCache(tmp_path)
    a = img(0)
    first = cache.get_or_compute(seg, a, image_hash(a))
    second = cache.get_or_compute(seg, a, image_hash(a))
    assert seg.calls == 1 and cache.stats.computed == 1 and cache.stats.memory_hits >= 1
    assert second is first


def test_disk_survives_a_new_process_and_is_float16(tmp_path):
    seg = CountingSegmenter()
    a = img(1)
    h = image_hash(a)
    fresh = EmbeddingCache(tmp_path).get_or_compute(seg, a, h)
    path = EmbeddingCache(tmp_path).path(seg.model_id, h)
    with np.load(path) as data:
        assert data["features"].dtype == np.float16 and data["original_size"].dtype == np.int64
    loaded = EmbeddingCache(tmp_path)  # a new process: empty memory
    again = loaded.get_or_compute(seg, lambda: pytest.fail("must not load the image"), h)
    assert seg.calls == 1 and loaded.stats.disk_hits == 1
    assert again["features"].dtype == np.float32
    np.testing.assert_array_equal(again["features"], fresh["features"])  # same values either way
    np.testing.assert_array_equal(again["original_size"], [64, 96])


def test_key_includes_the_model(tmp_path):
    cache, a = EmbeddingCache(tmp_path), img(2)
    s1, s2 = CountingSegmenter("m1"), CountingSegmenter("m2")
    cache.get_or_compute(s1, a, image_hash(a))
    cache.get_or_compute(s2, a, image_hash(a))
    assert s1.calls == s2.calls == 1
    assert (s1.model_id, image_hash(a)) in cache and ("m3", image_hash(a)) not in cache


def test_memory_lru_is_bounded_by_bytes(tmp_path):
    seg = CountingSegmenter()
    one = seg.embed(img(0))
    seg.calls = 0
    per = sum(v.nbytes for v in one.values())
    cache = EmbeddingCache(None, max_memory_bytes=3 * per)
    images = [img(k) for k in range(5)]
    for im in images:
        cache.get_or_compute(seg, im, image_hash(im))
    assert len(cache) == 3 and cache.memory_bytes <= 3 * per
    cache.get_or_compute(seg, images[4], image_hash(images[4]))  # most recent: still there
    assert seg.calls == 5
    cache.get_or_compute(seg, images[0], image_hash(images[0]))  # evicted, no disk: recomputed
    assert seg.calls == 6


def test_concurrent_requests_compute_once(tmp_path):
    seg, cache, a = CountingSegmenter(delay=0.2), EmbeddingCache(tmp_path), img(3)
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get_or_compute(seg, a, image_hash(a))))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seg.calls == 1 and len(results) == 4


def test_damaged_file_is_a_miss_and_gets_rewritten(tmp_path):
    seg, a = CountingSegmenter(), img(4)
    h = image_hash(a)
    EmbeddingCache(tmp_path).get_or_compute(seg, a, h)
    path = EmbeddingCache(tmp_path).path(seg.model_id, h)
    path.write_bytes(b"not an npz")
    cache = EmbeddingCache(tmp_path)
    cache.get_or_compute(seg, a, h)
    assert seg.calls == 2 and np.load(path)["features"].shape == (16, 24)


def test_hash_must_be_a_hash(tmp_path):
    with pytest.raises(ValueError, match="not a content hash"):
        EmbeddingCache(tmp_path).path("m", "../../etc/passwd")
    assert image_hash(img(0)) != image_hash(img(1)) and image_hash(img(0)) == image_hash(img(0))


def test_shared_cache_function(tmp_path):
    shared_cache.cache_clear()
    seg, a = CountingSegmenter(), img(5)
    cached_embedding(seg, a, image_hash(a), tmp_path)
    cached_embedding(seg, a, image_hash(a), tmp_path)
    assert seg.calls == 1 and (tmp_path / "embeddings").is_dir()
