"""Put one Flickr photo into a group through the ordinary ingest path, with its provenance.

``PhotoIngester.offer`` decides, for one photo found by a search (or listed in a file), whether it
goes in: a photo already in the project (found by an earlier search) is not added again, a license
the user did not allow is refused, a removed photo is skipped, and a photo that looks like one the
group already holds (perceptual hash) is refused as a near duplicate. The bytes go through
``pipelines.intake.ingest.ingest_items`` so EXIF rotation, RGB conversion, size limits and bad-file handling
are those of local files.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from labeler.errors import InvalidImage
from labeler.images import NormalizedImage
from labeler.project import Project
from pipelines.flickr.client import FlickrClient, FlickrUnavailable, PhotoUnavailable
from pipelines.flickr.licenses import License, license_for
from pipelines.flickr.near_duplicates import DEFAULT_MAX_DISTANCE, PhashIndex, phash_hex
from pipelines.flickr.photos import FlickrPhoto
from pipelines.intake.ingest import IngestItem, ingest_items

# Outcomes of ``offer``.
ADDED = "added"
KNOWN = "known"  # already in the project (another search found it first, or an earlier run)
LICENSE = "license"  # license not allowed
NO_SIZE = "no_size"  # no downloadable size
REMOVED = "removed"  # photo gone from Flickr
DUPLICATE = "duplicate"  # same pixels as an image of the group
NEAR_DUPLICATE = "near_duplicate"
BAD_IMAGE = "bad_image"  # downloaded but not a usable image
FAILED = "failed"  # server errors / timeouts after the retries: worth another run
#: Outcomes that will not change on a later run (the photo id is remembered and not downloaded again).
FINAL_REJECTIONS = {NO_SIZE, REMOVED, DUPLICATE, NEAR_DUPLICATE, BAD_IMAGE}


@dataclass
class GroupResult:
    """What one group got in one run."""

    group: str
    images: int = 0
    counts: Counter = field(default_factory=Counter)
    failures: list[tuple[str, str]] = field(default_factory=list)
    exhausted: bool = False

    @property
    def added(self) -> int:
        return self.counts[ADDED]


def photo_meta(
    photo: FlickrPhoto, lic: License, image_url: str, search: dict[str, Any]
) -> dict[str, Any]:
    """Provenance kept in the image's meta: what attribution needs at the top, Flickr details below."""
    return {
        "title": photo.title,
        "page_url": photo.page_url,
        "author_url": photo.author_url,
        "license_name": lic.name,
        "license_url": lic.url,
        "flickr": {
            "id": photo.id,
            "owner": photo.owner,
            "owner_name": photo.owner_name,
            "license_id": photo.license_id,
            "image_url": image_url,
            "search": search,
        },
    }


def flickr_id(meta: dict[str, Any]) -> str | None:
    flickr = meta.get("flickr") if isinstance(meta, dict) else None
    return str(flickr["id"]) if isinstance(flickr, dict) and flickr.get("id") else None


class PhotoIngester:
    """Offers photos to groups of one project; remembers which Flickr photos the project holds."""

    def __init__(
        self,
        project: Project,
        client: FlickrClient,
        licenses: frozenset[int],
        *,
        license_table: dict[int, License] | None = None,
        max_distance: int = DEFAULT_MAX_DISTANCE,
    ):
        self.project = project
        self.client = client
        self.licenses = licenses
        self.license_table = license_table
        self.max_distance = max_distance
        self.known: set[str] = {
            fid for image in project.store.list_images() if (fid := flickr_id(image.meta))
        }
        self._indexes: dict[int, PhashIndex] = {}

    def index(self, group_id: int) -> PhashIndex:
        """The group's pHash index, built once from stored hashes (or the files, for older images)."""
        if group_id not in self._indexes:
            index = PhashIndex()
            for image in self.project.store.list_images(group_id):
                phash = image.meta.get("phash")
                if not phash:
                    try:
                        phash = phash_hex(self.project.image_path(image).read_bytes())
                    except OSError:
                        continue
                index.add(image.id, phash)
            self._indexes[group_id] = index
        return self._indexes[group_id]

    def offer(
        self,
        photo: FlickrPhoto,
        group_id: int,
        group: str,
        target: str,
        scene: str,
        search: dict[str, Any],
        result: GroupResult,
    ) -> str:
        """Try to add ``photo`` to the group; returns the outcome and counts it in ``result``."""
        outcome, reason = self._offer(photo, group_id, group, target, scene, search)
        result.counts[outcome] += 1
        if outcome == ADDED:
            result.images += 1
        elif outcome == FAILED:
            result.failures.append((photo.id, reason))
        return outcome

    def _offer(self, photo, group_id, group, target, scene, search) -> tuple[str, str]:
        if photo.id in self.known:
            return KNOWN, ""
        if photo.license_id not in self.licenses:
            return LICENSE, ""
        url = photo.image_url(self.client.static_url)
        if url is None:
            return NO_SIZE, ""
        lic = license_for(photo.license_id, self.license_table)
        verdict: dict[str, str] = {}

        def read() -> bytes:
            try:
                return self.client.download(url)
            except PhotoUnavailable as exc:
                verdict["outcome"] = REMOVED
                raise InvalidImage(f"flickr photo {photo.id}: {exc}") from None
            except FlickrUnavailable as exc:
                verdict["outcome"] = FAILED
                raise InvalidImage(f"flickr photo {photo.id}: {exc}") from None

        index = self.index(group_id)

        def screen(item: IngestItem, image: NormalizedImage) -> str | None:
            phash = phash_hex(image.data)
            item.meta["phash"] = phash  # stored with the image (see ingest_items)
            near = index.near_duplicate_of(phash, self.max_distance)
            if near is None:
                return None
            verdict["outcome"] = NEAR_DUPLICATE
            return f"near duplicate of image {near[0]} ({near[1]} bits apart)"

        item = IngestItem(
            source=f"flickr photo {photo.id}",
            group=group,
            target=target,
            scene=scene,
            source_url=photo.page_url,
            owner=photo.owner_name or photo.owner,
            license=lic.short,
            meta=photo_meta(photo, lic, url, search),
            read=read,
        )
        report = ingest_items(self.project, [item], screen=screen)
        if report.added:
            self.known.add(photo.id)
            index.add(report.added[0], item.meta["phash"])
            return ADDED, ""
        if report.duplicates:
            return verdict.get("outcome", DUPLICATE), ""
        reason = report.skipped[0][1] if report.skipped else "not added"
        return verdict.get("outcome", BAD_IMAGE), reason
