"""URLs for bytes the browser should fetch (and cache) instead of receiving inline on every rerun."""

from __future__ import annotations


def media_url(data: bytes, mime: str, coordinates: str) -> str:
    """A ``/media`` URL from Streamlit's media file manager (what ``st.image`` uses), or a data URL
    when no Streamlit runtime is running (bare scripts, some tests).

    ``coordinates`` names the slot the file fills in this session: a new file in the same slot
    replaces the old one. The URL is derived from the content, so the browser's cache keeps working.
    """
    from streamlit import runtime

    if runtime.exists():
        return runtime.get_instance().media_file_mgr.add(data, mime, coordinates)
    from labeler.render import data_url

    return data_url(data, mime)
