"""Concurrent writers with random kills: are acknowledged saves ever lost or overwritten?

    python bench/bench_concurrency.py [--writers 20] [--seconds 60] [--kill-every 3]
        [--backend sqlite|postgres|both] [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

N writer processes save decisions on a small project (10 expressions x 20 images) with optimistic
locking (``expected_revision``), for a set time. Every few seconds the parent ``kill -9``s a random
writer and starts a new one. A writer appends each save the store acknowledged (pair, revision,
unique author tag) to its own log, flushed right after the call returns. At the end the audit log
is checked: every acknowledged save must be there with its revision (else *lost*), and no two
acknowledgements may share a (pair, revision) (else *overwritten*). Both must be 0.

Prints, per backend: saves/s, conflicts (StaleRevision), p50/p95 save latency, lost, overwritten.
The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import signal
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from labeler import rle  # noqa: E402
from labeler.errors import StaleRevision  # noqa: E402
from labeler.store import Store  # noqa: E402

EXPRESSIONS, IMAGES, H, W = 10, 20, 24, 32


def _setup(url: str, schema: str | None) -> None:
    store = Store(url, schema=schema) if schema else Store(url)
    g = store.create_group("bench")
    for i in range(IMAGES):
        store.add_image(g.id, f"{i}.png", W, H, f"hash{i}")
    for e in range(EXPRESSIONS):
        store.add_expression(g.id, f"expression {e}")
    store.close()


def _writer(url: str, schema: str | None, log_path: str, seed: int, stop_at: float) -> None:
    rng = random.Random(seed)
    store = Store(url, schema=schema) if schema else Store(url)
    expressions = [e.id for e in store.list_expressions()]
    images = [i.id for i in store.list_images()]
    masks = []
    for k in range(4):
        m = np.zeros((H, W), bool)
        m[k * 4 : k * 4 + 6, k * 5 : k * 5 + 9] = True
        masks.append(rle.encode(m))
    with open(log_path, "a", buffering=1) as log:
        sequence = 0
        while time.time() < stop_at:
            eid, iid = rng.choice(expressions), rng.choice(images)
            current = store.decisions_for_expression(eid)[iid].revision
            status = rng.choice(["positive", "negative"])
            instances = [rng.choice(masks)] if status == "positive" else []
            sequence += 1
            tag = f"w{seed}-{sequence}"
            started = time.perf_counter()
            try:
                saved = store.save_decision(
                    eid, iid, status, instances, author=tag, expected_revision=current
                )
            except StaleRevision:
                log.write(json.dumps({"conflict": 1}) + "\n")
                continue
            latency = time.perf_counter() - started
            log.write(
                json.dumps({"e": eid, "i": iid, "rev": saved.revision, "tag": tag, "s": latency})
                + "\n"
            )


def _run(
    backend: str, url: str, schema: str | None, writers: int, seconds: float, kill_every: float
):
    _setup(url, schema)
    logs = Path(tempfile.mkdtemp(prefix="bench_conc_"))
    stop_at = time.time() + seconds
    ctx = mp.get_context("spawn")
    seed = 0

    def start():
        nonlocal seed
        seed += 1
        proc = ctx.Process(
            target=_writer, args=(url, schema, str(logs / f"{seed}.log"), seed, stop_at)
        )
        proc.start()
        return proc

    procs = [start() for _ in range(writers)]
    kills = 0
    rng = random.Random(1)
    next_kill = time.time() + kill_every
    while time.time() < stop_at:
        time.sleep(0.2)
        if time.time() >= next_kill and time.time() < stop_at - 1:
            victim = rng.randrange(len(procs))
            os.kill(procs[victim].pid, signal.SIGKILL)
            procs[victim].join()
            procs[victim] = start()
            kills += 1
            next_kill = time.time() + kill_every
    for proc in procs:
        proc.join(timeout=30)
    acks, conflicts, latencies = [], 0, []
    for path in logs.glob("*.log"):
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line torn by kill -9: never an acknowledged save (no newline yet)
            if "conflict" in row:
                conflicts += 1
            else:
                acks.append(row)
                latencies.append(row["s"])
    store = Store(url, schema=schema) if schema else Store(url)
    audited = {(a.author, (a.after or {}).get("revision")) for a in store.audit()}
    store.close()
    lost = sum((a["tag"], a["rev"]) not in audited for a in acks)
    seen, overwritten = set(), 0
    for a in acks:
        key = (a["e"], a["i"], a["rev"])
        overwritten += key in seen
        seen.add(key)
    latencies.sort()
    return {
        "backend": backend,
        "writers": writers,
        "seconds": seconds,
        "kills": kills,
        "acknowledged_saves": len(acks),
        "saves_per_s": round(len(acks) / seconds, 1),
        "conflicts": conflicts,
        "p50_ms": round(1000 * statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(1000 * latencies[int(0.95 * (len(latencies) - 1))], 1)
        if latencies
        else None,
        "lost": lost,
        "overwritten": overwritten,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--kill-every", type=float, default=3)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    results = []
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            results.append(_run("sqlite", url, None, args.writers, args.seconds, args.kill_every))
    if args.backend in ("postgres", "both"):
        import sqlalchemy as sa

        schema = f"bench_{uuid.uuid4().hex[:10]}"
        engine = sa.create_engine(args.pg_url)
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        try:
            results.append(
                _run("postgres", args.pg_url, schema, args.writers, args.seconds, args.kill_every)
            )
        finally:
            with engine.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            engine.dispose()
    for r in results:
        print(
            f"{r['backend']:8s} {r['writers']} writers {r['seconds']:.0f}s, {r['kills']} kills: "
            f"{r['saves_per_s']} saves/s ({r['acknowledged_saves']} acknowledged), "
            f"{r['conflicts']} conflicts, p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, "
            f"lost {r['lost']}, overwritten {r['overwritten']}"
        )
    print(json.dumps({"bench": "concurrency", "results": results}))


if __name__ == "__main__":
    main()
