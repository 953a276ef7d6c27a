"""Build GRD-style groups from Flickr: one group per target keyword x scene keyword.

GRD searched Flickr for a target and a scene together ("dog" + "beach"), which gives related,
non-iconic photos in which the target is sometimes absent: hard negatives for free. For every
combination, ``build_search_groups`` pages through ``flickr.photos.search`` (relevance order) and
offers each photo to the group ``"<target> x <scene>"`` until it holds ``per_group`` images.

Resume: the search state of each group (the query, the next page, the photos finally refused, the
photos whose download failed) is a project setting ``flickr.search:<group>``, written after every
page and every refusal or failure, and the photos already in the project are known from their image
meta. A re-run (after Ctrl-C, a crash, or with a larger ``per_group``) first retries the failed
photos, then continues at the page where the last run stopped, and adds nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from labeler.store import Store
from pipelines.flickr.client import PhotoUnavailable
from pipelines.flickr.ingest import FAILED, FINAL_REJECTIONS, REMOVED, GroupResult, PhotoIngester
from pipelines.flickr.photos import FlickrPhoto, parse_photo, photo_row

STATE_PREFIX = "flickr.search:"
#: Flickr returns at most this many distinct results for one query; later pages repeat earlier ones.
MAX_SEARCH_RESULTS = 4000
MATCH_MODES = ("text", "tags")

#: Called after each photo: (the group's result so far, the photo, its outcome).
OnPhoto = Callable[[GroupResult, FlickrPhoto, str], None]


def group_name(target: str, scene: str) -> str:
    return f"{target.strip()} x {scene.strip()}"


def search_query(target: str, scene: str, match: str) -> dict[str, Any]:
    """The search parameters for one combination: free text ("dog beach") or both tags."""
    if match not in MATCH_MODES:
        raise ValueError(f"match must be one of {MATCH_MODES}, not {match!r}")
    if match == "tags":
        return {"tags": [target.strip(), scene.strip()]}
    return {"text": f"{target.strip()} {scene.strip()}"}


@dataclass
class SearchState:
    """Where the search of one group stands.

    ``rejected`` maps photo id -> final outcome; ``pending`` holds the search entries of photos whose
    download failed (server errors, timeouts), to try again first on the next run.
    """

    query: dict[str, Any]
    next_page: int = 1
    pages: int | None = None
    exhausted: bool = False
    rejected: dict[str, str] = field(default_factory=dict)
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "next_page": self.next_page,
            "pages": self.pages,
            "exhausted": self.exhausted,
            "rejected": self.rejected,
            "pending": self.pending,
        }


def load_state(store: Store, group: str, query: dict[str, Any]) -> SearchState:
    """The stored state of ``group``'s search; a fresh one if none or if the query changed."""
    saved = store.get_setting(STATE_PREFIX + group)
    if not isinstance(saved, dict) or saved.get("query") != query:
        # A new query pages differently; known photo ids still prevent duplicates.
        old = saved if isinstance(saved, dict) else {}
        return SearchState(
            query, rejected=dict(old.get("rejected") or {}), pending=dict(old.get("pending") or {})
        )
    return SearchState(
        query,
        int(saved.get("next_page", 1)),
        saved.get("pages"),
        bool(saved.get("exhausted")),
        dict(saved.get("rejected") or {}),
        dict(saved.get("pending") or {}),
    )


def save_state(store: Store, group: str, state: SearchState) -> None:
    store.set_setting(STATE_PREFIX + group, state.to_json())


@dataclass(frozen=True)
class SearchOptions:
    per_group: int = 100
    licenses: frozenset[int] = frozenset()
    match: str = "text"
    per_page: int = 100


def build_search_groups(
    ingester: PhotoIngester,
    targets: Iterable[str],
    scenes: Iterable[str],
    options: SearchOptions,
    on_photo: OnPhoto | None = None,
    on_group: Callable[[GroupResult], None] | None = None,
) -> list[GroupResult]:
    """Fill one group per target x scene from Flickr searches; returns what each group got."""
    results = []
    for target in targets:
        for scene in scenes:
            result = search_group(ingester, target, scene, options, on_photo, on_group)
            results.append(result)
    return results


def search_group(
    ingester: PhotoIngester,
    target: str,
    scene: str,
    options: SearchOptions,
    on_photo: OnPhoto | None = None,
    on_group: Callable[[GroupResult], None] | None = None,
) -> GroupResult:
    """Page through one combination's search until the group is full or the results run out."""
    store, client = ingester.project.store, ingester.client
    name = group_name(target, scene)
    group = store.ensure_group(name, target.strip(), scene.strip())
    query = {**search_query(target, scene, options.match), "licenses": sorted(options.licenses)}
    state = load_state(store, name, query)
    result = GroupResult(name, images=len(store.list_images(group.id)), exhausted=state.exhausted)
    if on_group:
        on_group(result)
    search = {k: v for k, v in query.items() if k != "licenses"}

    def offer(photo: FlickrPhoto, page: int) -> None:
        outcome = ingester.offer(
            photo, group.id, name, target.strip(), scene.strip(), {**search, "page": page}, result
        )
        failed = outcome == FAILED
        changed = (photo.id in state.pending) != failed or outcome in FINAL_REJECTIONS
        if failed:
            state.pending[photo.id] = {**photo_row(photo), "page": page}
        else:
            state.pending.pop(photo.id, None)
        if outcome in FINAL_REJECTIONS:
            state.rejected[photo.id] = outcome
        if changed:
            save_state(store, name, state)
        if on_photo:
            on_photo(result, photo, outcome)

    for row in list(state.pending.values()):  # the failures of the last run go first
        if result.images >= options.per_group:
            break
        offer(parse_photo(row), int(row.get("page", 0)))
    while result.images < options.per_group and not state.exhausted:
        page = client.search(
            text=query.get("text", ""),
            tags=query.get("tags", ()),
            page=state.next_page,
            per_page=options.per_page,
            licenses=options.licenses,
        )
        state.pages = page.pages
        for photo in page.photos:
            if result.images >= options.per_group:
                break  # stop inside the page: a re-run with a larger per_group resumes here
            if photo.id not in state.rejected:
                offer(photo, page.page)
        else:
            state.next_page = page.page + 1
            state.exhausted = (
                not page.photos
                or state.next_page > page.pages
                or page.page * options.per_page >= MAX_SEARCH_RESULTS
            )
            save_state(store, name, state)
    result.exhausted = state.exhausted
    return result


@dataclass(frozen=True)
class ListedPhoto:
    """A photo named in a saved search result or a CSV: the photo (or only its id) and its group."""

    photo_id: str
    group: str
    target: str = ""
    scene: str = ""
    origin: str = ""
    photo: FlickrPhoto | None = None


def ingest_listed(
    ingester: PhotoIngester,
    listed: Iterable[ListedPhoto],
    per_group: int,
    on_photo: OnPhoto | None = None,
) -> list[GroupResult]:
    """Offer photos listed in a file; those given only by id are looked up (getInfo + getSizes)."""
    store = ingester.project.store
    results: dict[str, GroupResult] = {}
    group_ids: dict[str, int] = {}
    for entry in listed:
        if entry.group not in results:
            group = store.ensure_group(entry.group, entry.target, entry.scene)
            group_ids[entry.group] = group.id
            results[entry.group] = GroupResult(entry.group, images=len(store.list_images(group.id)))
        result = results[entry.group]
        if result.images >= per_group:
            continue
        photo = entry.photo
        if photo is None and entry.photo_id in ingester.known:
            photo = FlickrPhoto(id=entry.photo_id, owner="")
        if photo is None:
            try:
                photo = ingester.client.photo(entry.photo_id)
            except PhotoUnavailable:
                result.counts[REMOVED] += 1
                if on_photo:
                    on_photo(result, FlickrPhoto(id=entry.photo_id, owner=""), REMOVED)
                continue
        outcome = ingester.offer(
            photo,
            group_ids[entry.group],
            entry.group,
            entry.target,
            entry.scene,
            {"file": entry.origin},
            result,
        )
        if on_photo:
            on_photo(result, photo, outcome)
    return list(results.values())
