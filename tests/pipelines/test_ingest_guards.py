"""The holes ingest had: the server's disk (admins only, under allowed roots) and the server
fetching any URL (public addresses only, one neutral reason for every refusal or failure)."""

from __future__ import annotations

import http.server
import io
import threading

import numpy as np
import pytest
from PIL import Image

from labeler.accounts import PermissionDenied
from labeler.errors import InvalidImage
from labeler.project import Project
from pipelines.intake.guards import (
    ALLOW_PRIVATE_URLS,
    INGEST_ROOTS,
    RefusedAddress,
    check_public_url,
)
from pipelines.intake.ingest import _read_url
from pipelines.intake.uploads import ingest_path_job, ingest_uploads_job

PASSWORD = "correct horse"


def _png(seed: int) -> bytes:
    arr = np.random.default_rng(seed).integers(0, 255, (12, 12, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    return buf.getvalue()


def _progress(*_args, **_kwargs) -> None:
    pass


@pytest.fixture
def team_project(tmp_path):
    project = Project.init(tmp_path / "proj")
    project.store.add_user("root", "admin", PASSWORD)
    project.store.add_user("ann", "annotator", PASSWORD)
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "a.png").write_bytes(_png(1))
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "b.png").write_bytes(_png(2))
    project.store.set_setting(INGEST_ROOTS, [str(allowed)])
    yield project, allowed, secret
    project.close()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8501/probe.png",
        "http://localhost/x.png",
        "http://[::1]/x.png",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.7/x.png",
        "http://192.168.1.1/x.png",
        "http://[::ffff:127.0.0.1]/x.png",
        "file:///etc/passwd",
    ],
)
def test_private_and_odd_addresses_are_refused(url):
    with pytest.raises(RefusedAddress):
        check_public_url(url)


def test_a_public_address_passes():
    check_public_url("http://93.184.216.34/x.png")


@pytest.fixture
def local_server():
    class NotFound(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(404)
            self.end_headers()

        def log_message(self, *_args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_one_neutral_reason_for_refusals_and_failures(local_server):
    answering = f"{local_server}/probe.png"
    closed = "http://127.0.0.1:9/probe.png"
    reasons = []
    for url, allow in ((answering, False), (closed, False), (answering, True), (closed, True)):
        with pytest.raises(InvalidImage) as info:
            _read_url(url, allow_private=allow)()
        reasons.append(str(info.value).removeprefix(url))
    # A 404 and a closed port read the same, so skip reasons cannot map internal ports.
    assert set(reasons) == {": could not download"}


def test_server_disk_is_for_admins_under_allowed_roots(team_project, tmp_path):
    project, allowed, secret = team_project
    with pytest.raises(PermissionDenied, match="annotator"):
        ingest_path_job(_progress, project, str(allowed), "g", actor="ann")
    with pytest.raises(PermissionDenied, match="outside the folders"):
        ingest_path_job(_progress, project, str(secret), "g", actor="root")
    with pytest.raises(PermissionDenied, match="outside the folders"):
        ingest_path_job(_progress, project, "/", "g", actor="root")
    (allowed / "escape").symlink_to(secret, target_is_directory=True)
    with pytest.raises(PermissionDenied, match="outside the folders"):
        ingest_path_job(_progress, project, str(allowed / "escape"), "g", actor="root")
    manifest = allowed / "m.csv"
    manifest.write_text(f"file,group\n{secret / 'b.png'},g\n")
    with pytest.raises(PermissionDenied, match="outside the folders"):
        ingest_path_job(_progress, project, str(manifest), "g", actor="root")
    assert project.store.list_images() == []
    (allowed / "escape").unlink()
    manifest.unlink()
    report = ingest_path_job(_progress, project, str(allowed), "g", actor="root")
    assert len(report.added) == 1


def test_server_disk_is_off_until_an_admin_allows_a_folder(team_project):
    project, allowed, _ = team_project
    project.store.set_setting(INGEST_ROOTS, [])
    with pytest.raises(PermissionDenied, match="off for this project"):
        ingest_path_job(_progress, project, str(allowed), "g", actor="root")


def test_uploaded_manifests_cannot_read_the_server_disk(team_project):
    project, _, secret = team_project
    manifest = f"file,group\n{secret / 'b.png'},g\n".encode()
    with pytest.raises(PermissionDenied, match="outside the folders"):
        ingest_uploads_job(_progress, project, [("m.csv", manifest)], "g", actor="root")
    with pytest.raises(PermissionDenied):
        ingest_uploads_job(_progress, project, [("a.png", _png(3))], "g", actor="ann")
    report = ingest_uploads_job(_progress, project, [("a.png", _png(3))], "g", actor="root")
    assert len(report.added) == 1


def test_private_urls_follow_the_project_setting(team_project, local_server):
    project, _, _ = team_project
    manifest = f"url,group\n{local_server}/x.png,g\n".encode()
    report = ingest_uploads_job(_progress, project, [("m.csv", manifest)], "g", actor="root")
    assert [reason for _, reason in report.skipped] == [f"{local_server}/x.png: could not download"]
    project.store.set_setting(ALLOW_PRIVATE_URLS, True)
    report = ingest_uploads_job(_progress, project, [("m.csv", manifest)], "g", actor="root")
    assert len(report.skipped) == 1  # allowed now, and the server's 404 reads the same
