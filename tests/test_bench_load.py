"""The pure figures of bench/bench_load.py: nearest-rank percentiles and the largest passing k."""

from __future__ import annotations

from bench.bench_load import largest_k, passes, percentiles


def _figures(decision_p95: float | None, click_p95: float | None) -> dict:
    return {
        "decision_saved": {"p95_ms": decision_p95},
        "click": {"p95_ms": click_p95},
    }


def test_percentiles_are_nearest_rank_in_ms_and_skip_missing_samples():
    seconds = [k / 1000 for k in range(1, 101)] + [None]
    figures = percentiles(seconds)
    assert figures == {"p50_ms": 51.0, "p95_ms": 95.0, "n": 100}
    assert percentiles([None]) == {"p50_ms": None, "p95_ms": None, "n": 0}


def test_a_k_passes_only_with_both_targets_met():
    assert passes(_figures(199.0, 249.0))
    assert not passes(_figures(200.0, 100.0))  # decisions must stay under 200 ms
    assert not passes(_figures(100.0, 250.0))  # clicks under 250 ms
    assert not passes(_figures(100.0, None))  # no click measured: not a pass


def test_largest_k_stops_at_the_first_failing_k():
    ok, slow = _figures(150.0, 200.0), _figures(400.0, 200.0)
    assert largest_k({1: ok, 4: ok, 8: slow}) == 4
    assert largest_k({1: ok, 4: slow, 8: ok}) == 1  # a pass after a failure is noise
    assert largest_k({1: slow, 4: ok}) is None
