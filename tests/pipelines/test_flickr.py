"""`grd flickr` end to end against a local fake of Flickr's REST API, plus the client's parts."""

from __future__ import annotations

import csv
import json
import logging
import socket
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labeler.project import Project
from pipelines.cli import app
from pipelines.flickr.client import (
    FlickrClient,
    FlickrKeyError,
    FlickrNetworkError,
    FlickrUnavailable,
    PhotoUnavailable,
)
from pipelines.flickr.groups import SearchOptions, build_search_groups, load_state, search_query
from pipelines.flickr.ingest import PhotoIngester
from pipelines.flickr.licenses import LICENSES, parse_licenses
from pipelines.flickr.near_duplicates import PhashIndex, phash_hex
from pipelines.flickr.photos import photo_id_from_url
from tests.pipelines.fake_flickr import GOOD_KEY, FakeFlickr, FakePhoto, jpeg, scene_image

runner = CliRunner()

BEACH, PARK = "dog x beach", "dog x park"
# What a complete run must leave: beach first (it is searched first), so the photos both
# searches find (901, 902) belong to the beach group only.
EXPECTED = {BEACH: {"101", "102", "105", "901", "902"}, PARK: {"201", "203"}}


def photos() -> list[FakePhoto]:
    near = jpeg(scene_image(201).resize((150, 112)), quality=50)  # 202: a re-upload of 201
    return [
        FakePhoto(
            "101", {"dog", "beach"}, license=4, title="Dog on the beach", ownername="Ann Example"
        ),
        FakePhoto("102", {"dog", "beach"}, license=11, owner="222@N02", ownername="Bo Photo"),
        FakePhoto("103", {"dog", "beach"}, license=0),  # all rights reserved
        FakePhoto(
            "104", {"dog", "beach"}, license=5, removed="redirect"
        ),  # deleted since the search
        FakePhoto("105", {"dog", "beach"}, license=14, title="NC 4.0 dog"),
        FakePhoto("901", {"dog", "beach", "park"}, license=9),
        FakePhoto("902", {"dog", "park", "beach"}, license=4),
        FakePhoto("201", {"dog", "park"}, license=4),
        FakePhoto("202", {"dog", "park"}, license=4, image=near),
        FakePhoto("203", {"dog", "park"}, license=2),
        FakePhoto("301", {"cat", "beach"}, license=4),
    ]


@pytest.fixture
def fake():
    with FakeFlickr(photos(), delay_s=1.0) as server:
        yield server


def make_project(path: Path, fake: FakeFlickr, **flickr) -> Path:
    project = Project.init(path)
    project.settings.extra["flickr"] = {
        "api_url": fake.api_url,
        "timeout_s": 0.4,
        "backoff_s": 0.01,
        "retries": 3,
        "min_interval_s": 0,
        "download_interval_s": 0,
        **flickr,
    }
    project.save_settings()
    project.close()
    return path


def run(*args: str):
    return runner.invoke(app, ["flickr", *args])


def flickr_ids(root: Path) -> dict[str, list[str]]:
    with Project.open(root) as project:
        store = project.store
        return {
            g.name: [i.meta["flickr"]["id"] for i in store.list_images(g.id)]
            for g in store.list_groups()
        }


def tree_bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


# -- the whole command ----------------------------------------------------------------------------
def test_grd_flickr_builds_one_group_per_target_and_scene(tmp_path, fake, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)  # urllib3 logs every request line at DEBUG
    monkeypatch.setenv("FLICKR_API_KEY", GOOD_KEY)
    fake.faults = {"flickr.photos.search": ["500"], "img:102": ["timeout"]}
    root = make_project(tmp_path / "p", fake)

    result = run(
        str(root),
        "--target",
        "dog",
        "--scene",
        "beach",
        "--scene",
        "park",
        "--per-group",
        "100",
        "--per-page",
        "2",
    )

    assert result.exit_code == 0, result.output
    ids = flickr_ids(root)
    assert {name: set(v) for name, v in ids.items()} == EXPECTED
    every = [i for v in ids.values() for i in v]
    assert len(every) == len(set(every))  # nothing twice, even though two searches found 901/902
    # The 500 was retried (page 1 asked twice), the timed-out photo downloaded on the next try.
    beach_pages = [int(s["page"]) for s in fake.searches() if s["text"] == "dog beach"]
    assert beach_pages == [1, 1, 2, 3]  # 6 photos under CC licenses, 2 a page
    assert fake.downloads("102") == 2
    # Paging, license filter and search parameters as Flickr wants them.
    first = fake.searches()[0]
    assert first["sort"] == "relevance" and first["safe_search"] == "1" and first["per_page"] == "2"
    assert set(map(int, first["license"].split(","))) == parse_licenses("cc")
    assert "url_l" in first["extras"] and "owner_name" in first["extras"]

    with Project.open(root) as project:
        store = project.store
        beach = store.group_by_name(BEACH)
        assert (beach.target_keyword, beach.scene_keyword) == ("dog", "beach")
        image = next(i for i in store.list_images(beach.id) if i.meta["flickr"]["id"] == "101")
        assert image.owner == "Ann Example" and image.license == "CC BY 2.0"
        assert image.source_url == "https://www.flickr.com/photos/12345678@N00/101/"
        assert image.meta["title"] == "Dog on the beach"
        assert image.meta["license_url"] == "https://creativecommons.org/licenses/by/2.0/"
        assert image.meta["page_url"] == image.source_url
        assert image.meta["flickr"]["owner"] == "12345678@N00"
        assert image.meta["flickr"]["search"] == {"text": "dog beach", "page": 1}
        assert len(image.meta["phash"]) == 16  # kept, so a later run's near-duplicate check has it
        nc4 = next(i for i in store.list_images(beach.id) if i.meta["flickr"]["id"] == "105")
        assert nc4.license == "CC BY-NC 4.0"
        assert nc4.meta["license_url"] == "https://creativecommons.org/licenses/by-nc/4.0/"
        assert (project.root / image.file).is_file()
        state = load_state(
            store,
            BEACH,
            {**search_query("dog", "beach", "text"), "licenses": sorted(parse_licenses("cc"))},
        )
        assert state.exhausted and state.rejected == {"104": "removed"}

    park_state = json.dumps(Project.open(root).store.get_setting("flickr.search:" + PARK))
    assert '"202": "near_duplicate"' in park_state
    # The key went only in POST bodies; it is in no URL, log line, output, or project file.
    assert set(fake.keys_seen) == {GOOD_KEY}
    assert all(GOOD_KEY not in r["query"] for r in fake.requests)
    assert GOOD_KEY not in caplog.text and "retry" in caplog.text
    assert GOOD_KEY not in result.output
    assert GOOD_KEY.encode() not in tree_bytes(root)


def test_a_second_run_adds_nothing_and_asks_no_search(tmp_path, fake, monkeypatch):
    monkeypatch.setenv("FLICKR_API_KEY", GOOD_KEY)
    root = make_project(tmp_path / "p", fake)
    args = [str(root), "-t", "dog", "-s", "beach", "-s", "park", "--per-page", "3"]
    assert run(*args).exit_code == 0
    before = flickr_ids(root)
    searches, downloads = len(fake.searches()), sum(fake.downloads(p.id) for p in fake.photos)

    again = run(*args)

    assert again.exit_code == 0, again.output
    assert flickr_ids(root) == before
    assert len(fake.searches()) == searches  # both searches are finished
    assert sum(fake.downloads(p.id) for p in fake.photos) == downloads


def test_a_photo_that_keeps_failing_is_retried_by_the_next_run(tmp_path, fake, monkeypatch):
    monkeypatch.setenv("FLICKR_API_KEY", GOOD_KEY)
    fake.faults = {"img:203": ["500"] * 4}  # the first try and all 3 retries
    root = make_project(tmp_path / "p", fake)
    args = [str(root), "-t", "dog", "-s", "park"]

    first = run(*args)

    assert first.exit_code == 1 and "re-run the same command" in first.output
    assert set(flickr_ids(root)[PARK]) == {"901", "902", "201"} and fake.downloads("203") == 4
    searches = len(fake.searches())
    second = run(*args)
    assert second.exit_code == 0, second.output
    assert set(flickr_ids(root)[PARK]) == {"901", "902", "201", "203"}
    assert (
        len(fake.searches()) == searches
    )  # the search was done; only the failed photo was retried
    with Project.open(root) as project:
        assert project.store.get_setting("flickr.search:" + PARK)["pending"] == {}


def test_per_group_limit_then_a_larger_one_continues(tmp_path, fake, monkeypatch):
    monkeypatch.setenv("FLICKR_API_KEY", GOOD_KEY)
    root = make_project(tmp_path / "p", fake)
    args = [str(root), "-t", "dog", "-s", "beach", "-s", "park", "--per-page", "2"]
    assert run(*args, "--per-group", "2").exit_code == 0
    # "dog park" ranks 901 and 902 first, and beach (full at 2) had not reached them yet.
    assert {k: set(v) for k, v in flickr_ids(root).items()} == {
        BEACH: {"101", "102"},
        PARK: {"901", "902"},
    }

    assert run(*args, "--per-group", "100").exit_code == 0

    ids = flickr_ids(root)
    every = [i for v in ids.values() for i in v]
    assert len(every) == len(set(every))  # 901/902 stay in park; beach's search skips them
    assert {k: set(v) for k, v in ids.items()} == {
        BEACH: {"101", "102", "105"},
        PARK: {"901", "902", "201", "203"},
    }
    assert all(fake.downloads(pid) == 1 for pid in ("101", "102", "201"))


def test_interrupted_run_resumes_at_the_stored_page_without_duplicates(tmp_path, fake):
    root = make_project(tmp_path / "p", fake)
    project = Project.open(root)
    client = FlickrClient(GOOD_KEY, api_url=fake.api_url, min_interval_s=0, download_interval_s=0)
    options = SearchOptions(per_group=100, licenses=parse_licenses("cc"), per_page=2)
    seen = []

    def stop_after_four(result, photo, outcome):
        seen.append(photo.id)
        if len(seen) == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_search_groups(
            PhotoIngester(project, client, options.licenses),
            ["dog"],
            ["beach"],
            options,
            on_photo=stop_after_four,
        )
    state = project.store.get_setting("flickr.search:" + BEACH)
    assert state["next_page"] == 2  # page 1 done; stopped inside page 2
    added_before = {i.meta["flickr"]["id"] for i in project.store.list_images()}
    requests_before = len(fake.requests)

    results = build_search_groups(
        PhotoIngester(project, client, options.licenses), ["dog"], ["beach"], options
    )

    resumed = [
        int(r["params"]["page"])
        for r in fake.requests[requests_before:]
        if r["params"].get("method") == "flickr.photos.search"
    ]
    assert resumed[0] == 2  # continued, did not start over
    ids = [i.meta["flickr"]["id"] for i in project.store.list_images()]
    assert len(ids) == len(set(ids)) and set(ids) == EXPECTED[BEACH]
    assert added_before < set(ids)
    assert all(fake.downloads(pid) == 1 for pid in added_before)
    assert results[0].exhausted
    project.close()


# -- clear failures -------------------------------------------------------------------------------
def test_bad_key_is_a_clear_message_and_stays_secret(tmp_path, fake, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    bad = "ffffeeeeddddccccbbbbaaaa99998888"
    monkeypatch.setenv("FLICKR_API_KEY", bad)
    root = make_project(tmp_path / "p", fake)

    result = run(str(root), "-t", "dog", "-s", "beach")

    assert result.exit_code == 2
    assert "Flickr refused the API key" in result.output and "Key not found" in result.output
    assert "https://www.flickr.com/services/apps/create/" in result.output
    assert bad not in result.output and bad not in caplog.text
    assert flickr_ids(root) == {}  # no group made before the key was checked
    assert bad.encode() not in tree_bytes(root)


def test_missing_key_names_the_variable_and_where_to_get_one(tmp_path, fake, monkeypatch):
    monkeypatch.delenv("FLICKR_API_KEY", raising=False)
    root = make_project(tmp_path / "p", fake)
    result = run(str(root), "-t", "dog", "-s", "beach")
    assert result.exit_code == 2
    assert "FLICKR_API_KEY" in result.output and "apps/create" in result.output
    assert fake.requests == []


def test_no_network_is_a_clear_message(tmp_path, fake, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("FLICKR_API_KEY", GOOD_KEY)
    root = make_project(tmp_path / "p", fake, api_url=f"http://127.0.0.1:{port}/services/rest/")
    result = run(str(root), "-t", "dog", "-s", "beach")
    assert result.exit_code == 2
    assert "cannot reach 127.0.0.1" in result.output and "network" in result.output
    assert GOOD_KEY not in result.output


def test_licenses_are_checked_even_when_the_server_ignores_the_filter(tmp_path, fake, monkeypatch):
    monkeypatch.setenv("FLICKR_API_KEY", GOOD_KEY)
    fake.honour_license = False
    root = make_project(tmp_path / "p", fake)
    result = run(str(root), "-t", "dog", "-s", "beach", "--license", "cc-by")
    assert result.exit_code == 0, result.output
    # cc-by = CC BY 2.0 (4) and 4.0 (11): 101, 102, 902; not 103 (ARR), 105 (NC), 901 (CC0).
    assert set(flickr_ids(root)[BEACH]) == {"101", "102", "902"}
    assert fake.downloads("103") == 0 and fake.downloads("105") == 0


def test_bad_license_spec_is_a_usage_error(tmp_path, fake):
    root = make_project(tmp_path / "p", fake)
    result = run(str(root), "-t", "dog", "-s", "beach", "--license", "cc-by,gpl")
    assert result.exit_code == 2 and "unknown license 'gpl'" in result.output


# -- photos gathered elsewhere --------------------------------------------------------------------
def test_saved_search_result_needs_no_key(tmp_path, fake, monkeypatch):
    monkeypatch.delenv("FLICKR_API_KEY", raising=False)
    pages = [fake.search({"text": "dog park", "per_page": "2", "page": str(n)}) for n in (1, 2, 3)]
    saved = tmp_path / "dog_park.json"
    saved.write_text(json.dumps(pages))
    root = make_project(tmp_path / "p", fake)

    result = run(str(root), "--from", str(saved), "-t", "dog", "-s", "park")

    assert result.exit_code == 0, result.output
    assert set(flickr_ids(root)[PARK]) == {"901", "902", "201", "203"}  # 202: near duplicate
    assert all(r["path"] != "/services/rest/" for r in fake.requests)
    with Project.open(root) as project:
        image = project.store.list_images()[0]
        assert image.meta["flickr"]["search"] == {"file": "dog_park.json photo 1"}


def test_csv_of_flickr_urls_is_looked_up(tmp_path, fake, monkeypatch):
    monkeypatch.setenv("FLICKR_API_KEY", GOOD_KEY)
    fake.photos.append(FakePhoto("777", {"x"}, license=4, removed="gone"))
    listing = tmp_path / "urls.csv"
    with listing.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["url", "group"])
        w.writerow(["https://www.flickr.com/photos/12345678@N00/101/in/photostream", "mine"])
        w.writerow([f"{fake.base}/static/65535/102_abcdef1234_b.jpg", "mine"])
        w.writerow(["https://www.flickr.com/photos/someone/777/", "mine"])  # deleted
        w.writerow(["https://www.flickr.com/photos/someone/103/", "mine"])  # all rights reserved
    root = make_project(tmp_path / "p", fake)

    result = run(str(root), "--from", str(listing))

    assert result.exit_code == 0, result.output
    assert sorted(flickr_ids(root)["mine"]) == ["101", "102"]
    with Project.open(root) as project:
        image = next(i for i in project.store.list_images() if i.meta["flickr"]["id"] == "102")
        assert image.owner == "Bo Photo" and image.license == "CC BY 4.0"
        assert image.meta["title"] == "photo 102"


# -- parts ----------------------------------------------------------------------------------------
def test_client_retries_500_and_timeouts_then_gives_up(fake):
    sleeps = []
    client = FlickrClient(
        GOOD_KEY,
        api_url=fake.api_url,
        timeout_s=0.3,
        backoff_s=0.5,
        retries=2,
        min_interval_s=0,
        sleep=sleeps.append,
    )
    fake.faults = {"flickr.photos.search": ["500", "105"]}
    page = client.search(text="dog park", per_page=10)
    assert {p.id for p in page.photos} >= {"201", "202", "203"}
    assert sleeps == [0.5, 0.5]  # HTTP 500 then Flickr's 105, each retried once

    fake.faults = {"flickr.photos.search": ["429"]}
    sleeps.clear()
    client.search(text="dog park")
    assert sleeps == [7.0]  # Retry-After honoured

    fake.faults = {"flickr.photos.search": ["500"] * 3}
    with pytest.raises(FlickrUnavailable, match="HTTP 500 after 3 tries"):
        client.search(text="dog")

    photo = next(p for p in page.photos if p.id == "201")
    fake.faults = {"img:201": ["timeout"] * 3}
    with pytest.raises(FlickrUnavailable, match="no answer within 0.3 s"):
        client.download(photo.image_url())


def test_client_errors_never_carry_the_key(fake):
    secret = "5555aaaa5555aaaa5555aaaa5555aaaa"
    with pytest.raises(FlickrKeyError) as info:
        FlickrClient(secret, api_url=fake.api_url, min_interval_s=0).search(text="dog")
    assert secret not in str(info.value)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = FlickrClient(
        secret,
        api_url=f"http://127.0.0.1:{port}/services/rest/?api_key={secret}",
        retries=1,
        backoff_s=0,
        min_interval_s=0,
    )
    with pytest.raises(FlickrNetworkError) as info:
        client.search(text="dog")
    assert secret not in str(info.value) and secret not in repr(client)
    assert client.redact(f"x{secret}y") == "x***y"


def test_removed_photo_is_recognised(fake):
    client = FlickrClient(GOOD_KEY, api_url=fake.api_url, min_interval_s=0, download_interval_s=0)
    page = client.search(text="dog beach", per_page=50)
    gone = next(p for p in page.photos if p.id == "104")
    with pytest.raises(PhotoUnavailable):
        client.download(gone.image_url())
    fake.by_id("104").removed = "404"
    with pytest.raises(PhotoUnavailable):
        client.download(gone.image_url())


def test_rate_limit_spaces_api_calls(fake):
    now, slept = [0.0], []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    client = FlickrClient(
        GOOD_KEY, api_url=fake.api_url, min_interval_s=1.0, sleep=sleep, clock=lambda: now[0]
    )
    for _ in range(3):
        client.licenses()
    assert slept == [1.0, 1.0]  # the first call goes at once, then one per second


def test_license_specs():
    assert parse_licenses("cc") == frozenset({1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14, 15, 16})
    assert parse_licenses("cc-by,cc-by-sa") == {4, 5, 11, 12}
    assert parse_licenses("cc-by-4.0, 9") == {11, 9}
    assert parse_licenses("open") == {4, 5, 7, 8, 9, 10, 11, 12}
    assert 0 not in parse_licenses("cc") and parse_licenses("0") == {0}
    assert LICENSES[16].short == "CC BY-NC-ND 4.0"
    with pytest.raises(ValueError, match="unknown license"):
        parse_licenses("cc-by-xx")


def test_photo_ids_from_urls():
    assert (
        photo_id_from_url("https://www.flickr.com/photos/ann/53012345678/in/photostream/")
        == "53012345678"
    )
    assert (
        photo_id_from_url("https://live.staticflickr.com/65535/53012345678_0a1b2c3d4e_b.jpg")
        == "53012345678"
    )
    assert photo_id_from_url("https://farm66.staticflickr.com/65535/42_0a1b2c3d4e.jpg") == "42"
    # flic.kr short links are the id in base 58 (Flickr's alphabet): "2" is 1, "21" is 58.
    assert photo_id_from_url("https://flic.kr/p/2") == "1"
    assert photo_id_from_url("https://flic.kr/p/21") == "58"
    assert photo_id_from_url("https://example.com/cat.jpg") is None


def test_near_duplicates_by_perceptual_hash():
    base = scene_image(7)
    index = PhashIndex()
    index.add(1, phash_hex(jpeg(base)))
    index.add(2, phash_hex(jpeg(scene_image(8))))
    resized = phash_hex(jpeg(base.resize((150, 112)), quality=50))
    assert index.near_duplicate_of(resized, 6)[0] == 1
    assert index.near_duplicate_of(phash_hex(jpeg(scene_image(9))), 6) is None
    assert index.near_duplicate_of(resized, -1) is None  # turned off
    distances = Counter(
        index.nearest(phash_hex(jpeg(scene_image(s))))[1] > 6 for s in range(10, 30)
    )
    assert distances[True] == 20  # unrelated pictures are far apart


def test_export_attribution_names_author_license_and_page(tmp_path, fake, monkeypatch):
    from exports.attribution import build_attribution, render_markdown
    from exports.snapshot import snapshot_from_store

    monkeypatch.setenv("FLICKR_API_KEY", GOOD_KEY)
    root = make_project(tmp_path / "p", fake)
    assert run(str(root), "-t", "dog", "-s", "beach").exit_code == 0
    with Project.open(root) as project:
        rows = build_attribution(snapshot_from_store(project.store))["images"]
    by_page = {row["source_url"]: row for row in rows}
    assert len(rows) == 5
    nc4 = by_page["https://www.flickr.com/photos/12345678@N00/105/"]
    assert (nc4["owner"], nc4["title"]) == ("Ann Example", "NC 4.0 dog")
    assert nc4["license"] == "CC BY-NC 4.0"
    assert nc4["license_url"] == "https://creativecommons.org/licenses/by-nc/4.0/"
    assert all(row["license_url"].startswith("https://creativecommons.org/") for row in rows)
    assert "[CC BY 2.0](https://creativecommons.org/licenses/by/2.0/)" in render_markdown(
        {"dataset": "", "images": rows}
    )


def test_paging_stops_at_flickrs_result_cap(tmp_path, fake, monkeypatch):
    import pipelines.flickr.groups as groups

    monkeypatch.setattr(groups, "MAX_SEARCH_RESULTS", 4)  # Flickr's is 4,000; same logic
    root = make_project(tmp_path / "p", fake)
    with Project.open(root) as project:
        client = FlickrClient(
            GOOD_KEY, api_url=fake.api_url, min_interval_s=0, download_interval_s=0
        )
        options = SearchOptions(per_group=100, licenses=parse_licenses("cc"), per_page=2)
        [result] = build_search_groups(
            PhotoIngester(project, client, options.licenses), ["dog"], ["beach"], options
        )
    assert [int(s["page"]) for s in fake.searches()] == [1, 2]  # 3 pages exist; the cap ends at 2
    assert result.exhausted and result.images == 3  # 101, 102 and page 2's 105 (104 is removed)
