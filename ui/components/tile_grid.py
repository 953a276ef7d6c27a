"""The group sweep's tile grid: one ``st.components.v2`` element for a whole group of images.

A Streamlit widget per tile (image, badge, checkbox, buttons) made a 100-image page several times
slower to paint and every click rerun hundreds of widgets; this component draws plain HTML tiles,
keeps the selection in the browser and sends only actions (:class:`GridEvent`). Thumbnails are
served from Streamlit's media endpoint (as ``st.image`` does), so the browser caches them and a
rerun sends only URLs. Keep :func:`tile_grid` / :func:`read_event` to replace what is behind them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from ui.components import trigger_value
from ui.components.media import media_url

_JS = Path(__file__).with_name("tile_grid.js").read_text()
_CSS = """
.grd-grid-root { width: 100%; }
.grd-grid-bar { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin-bottom: .75rem; }
.grd-grid-bar button, .grd-tile-actions button {
  font: inherit; font-size: .875rem; border: 1px solid rgba(49,51,63,.2); border-radius: .5rem;
  background: #fff; padding: .25rem .75rem; cursor: pointer; }
.grd-grid-bar button:hover, .grd-tile-actions button:hover { border-color: #ff4b4b; color: #ff4b4b; }
.grd-grid-bar button:disabled { opacity: .45; cursor: default; color: inherit; border-color: rgba(49,51,63,.2); }
.grd-grid-hint { color: rgba(49,51,63,.6); font-size: .8rem; }
.grd-grid { display: grid; gap: .75rem; }
.grd-tile { border: 2px solid rgba(49,51,63,.12); border-radius: .5rem; padding: .35rem; cursor: pointer;
  background: #fff; user-select: none; }
.grd-tile.grd-selected { border-color: #ff4b4b; box-shadow: 0 0 0 2px rgba(255,75,75,.35); }
.grd-tile img { width: 100%; aspect-ratio: 4 / 3; object-fit: contain; display: block; border-radius: .25rem;
  background: #f0f2f6; }
.grd-tile-foot { display: flex; justify-content: space-between; align-items: center; gap: .25rem;
  margin-top: .35rem; flex-wrap: wrap; }
.grd-tile-actions { display: flex; gap: .25rem; }
.grd-tile-actions button { padding: .1rem .45rem; }
.grd-tile.grd-pending { opacity: .7; }
.grd-tile.grd-pending .grd-badge::after { content: " …"; }
.grd-badge { font-size: .78rem; padding: .1rem .4rem; border-radius: .4rem; background: #eee; color: #444; }
.grd-badge[data-kind="positive"] { background: #e3f4e6; color: #1b6e2a; }
.grd-badge[data-kind="negative"] { background: #e1ecfb; color: #1b4f9c; }
.grd-badge[data-kind="proposed-present"] { background: #fdf0dc; color: #9a5a00; }
.grd-badge[data-kind="proposed-absent"] { background: #efe7fb; color: #5b3a9a; }
"""
_COMPONENT = st.components.v2.component("grd.tile_grid", js=_JS, css=_CSS, isolate_styles=False)


@dataclass(frozen=True)
class Tile:
    image_id: int
    jpeg: bytes
    kind: str  # a labeler.annotate.Badge kind
    label: str
    proposed: bool
    negative: bool
    revision: int
    help: str = ""  # the badge's tooltip (what a score means)


@dataclass(frozen=True)
class GridEvent:
    """An action from the grid: ``revisions`` are those the tiles showed, one per image id."""

    kind: str  # "decide" | "open" | "preview"
    id: str
    action: str = ""  # "accept" | "negative" for "decide"
    image_ids: tuple[int, ...] = ()
    revisions: tuple[int, ...] = ()


def parse_event(raw: Any) -> GridEvent | None:
    if not isinstance(raw, dict):
        return None
    try:
        if raw.get("kind") == "decide" and raw.get("action") in ("accept", "negative"):
            ids = tuple(int(i) for i in raw["ids"])
            revisions = tuple(int(r) for r in raw.get("revisions", ()))
            if len(revisions) != len(ids):
                return None
            return GridEvent("decide", str(raw["id"]), raw["action"], ids, revisions)
        if raw.get("kind") in ("open", "preview"):
            return GridEvent(raw["kind"], str(raw["id"]), image_ids=(int(raw["image_id"]),))
    except (KeyError, TypeError, ValueError):
        return None
    return None


def read_event(key: str) -> GridEvent | None:
    return parse_event(trigger_value(key))


def tile_grid(
    *,
    key: str,
    tiles: Sequence[Tile],
    seq: str = "",
    columns: int = 5,
    on_event: Callable[[], None] | None = None,
) -> None:
    """Draw the grid; ``on_event`` runs (before the rerun) on every action, see :func:`read_event`."""
    data = {
        "tiles": [
            {
                "id": t.image_id,
                "url": media_url(t.jpeg, "image/jpeg", f"{key}.{t.image_id}"),
                "kind": t.kind,
                "label": t.label,
                "proposed": t.proposed,
                "negative": t.negative,
                "rev": t.revision,
                "help": t.help,
            }
            for t in tiles
        ],
        "seq": seq,
        "columns": columns,
    }
    _COMPONENT(key=key, data=data, on_event_change=on_event or (lambda: None))
