"""The attribution file written with every export: who made each image, under which licence.

``attribution.json`` lists every exported image (owner, licence name and URL, source URL), and
``ATTRIBUTION.md`` says the same for people. Licences such as CC BY require exactly this when
the images are redistributed with a dataset.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from exports import atomic
from exports.licenses import license_info
from exports.snapshot import Snapshot


def build_attribution(snapshot: Snapshot) -> dict[str, Any]:
    """Per image: ``image_id, file_name, title, owner, license, license_url, source_url``."""
    rows = []
    for image in sorted(snapshot.images, key=lambda i: i.id):
        name, url = license_info(image.license)
        url = url or str(image.meta.get("license_url", ""))  # the source's own link (Flickr ingest)
        rows.append(
            {
                "image_id": image.id,
                "file_name": image.file,
                "title": str(image.meta.get("title", "")),
                "owner": image.owner,
                "license": name,
                "license_url": url,
                "source_url": image.source_url,
            }
        )
    return {"dataset": snapshot.name, "images": rows}


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(attribution: dict[str, Any]) -> str:
    lines = [
        f"# Image attribution{' for ' + attribution['dataset'] if attribution['dataset'] else ''}",
        "",
        "Each image of this dataset, its author and its licence. Keep this file with the images.",
        "",
        "| image | file | title | owner | licence | source |",
        "|---|---|---|---|---|---|",
    ]
    for row in attribution["images"]:
        licence = row["license"]
        if row["license_url"]:
            licence = f"[{licence}]({row['license_url']})"
        lines.append(
            "| "
            + " | ".join(
                _cell(v)
                for v in (
                    row["image_id"],
                    row["file_name"],
                    row["title"],
                    row["owner"],
                    licence,
                    row["source_url"],
                )
            )
            + " |"
        )
    return "\n".join(lines) + "\n"


def write_attribution(out_dir: str | Path, snapshot: Snapshot) -> list[Path]:
    """Write ``attribution.json`` and ``ATTRIBUTION.md`` into ``out_dir`` (atomically)."""
    data = build_attribution(snapshot)
    out_dir = Path(out_dir)
    return [
        atomic.write_json(out_dir / "attribution.json", data),
        atomic.write_text(out_dir / "ATTRIBUTION.md", render_markdown(data)),
    ]
