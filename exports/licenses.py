"""Image licences as stored (free text, a URL, or a Flickr licence id) -> a name and a URL.

Images keep whatever licence string their source gave (``ImageRecord.license``). Exports need a
name and, where one exists, the licence's URL: COCO's ``licenses`` table and the attribution file.
"""

from __future__ import annotations

# Flickr's licence ids (flickr.photos.licenses.getInfo), the ones a Flickr ingest stores.
FLICKR_LICENSES: dict[str, tuple[str, str]] = {
    "0": ("All Rights Reserved", ""),
    "1": ("CC BY-NC-SA 2.0", "https://creativecommons.org/licenses/by-nc-sa/2.0/"),
    "2": ("CC BY-NC 2.0", "https://creativecommons.org/licenses/by-nc/2.0/"),
    "3": ("CC BY-NC-ND 2.0", "https://creativecommons.org/licenses/by-nc-nd/2.0/"),
    "4": ("CC BY 2.0", "https://creativecommons.org/licenses/by/2.0/"),
    "5": ("CC BY-SA 2.0", "https://creativecommons.org/licenses/by-sa/2.0/"),
    "6": ("CC BY-ND 2.0", "https://creativecommons.org/licenses/by-nd/2.0/"),
    "7": ("No known copyright restrictions", "https://www.flickr.com/commons/usage/"),
    "8": ("United States Government Work", "http://www.usa.gov/copyright.shtml"),
    "9": ("CC0 1.0", "https://creativecommons.org/publicdomain/zero/1.0/"),
    "10": ("Public Domain Mark 1.0", "https://creativecommons.org/publicdomain/mark/1.0/"),
}

_BY_NAME: dict[str, tuple[str, str]] = {
    name.lower().replace("-", " "): (name, url) for name, url in FLICKR_LICENSES.values()
}
_BY_NAME.update(
    {
        "cc0": FLICKR_LICENSES["9"],
        "cc0 1.0": FLICKR_LICENSES["9"],
        "cc by 4.0": ("CC BY 4.0", "https://creativecommons.org/licenses/by/4.0/"),
        "cc by sa 4.0": ("CC BY-SA 4.0", "https://creativecommons.org/licenses/by-sa/4.0/"),
    }
)


def license_info(value: str) -> tuple[str, str]:
    """``(name, url)`` for a stored licence string; unknown text is kept as the name, no URL."""
    text = (value or "").strip()
    if not text:
        return "unknown", ""
    if text in FLICKR_LICENSES:
        return FLICKR_LICENSES[text]
    if text.startswith(("http://", "https://")):
        for name, url in FLICKR_LICENSES.values():
            if url and url.rstrip("/") == text.rstrip("/"):
                return name, url
        return text, text
    return _BY_NAME.get(text.lower().replace("-", " "), (text, ""))
