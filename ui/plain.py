"""User text inside Markdown widgets, shown as text: every Markdown / Streamlit directive character
is backslash-escaped, so ``![t](http://host/x.png)`` shows those characters and loads nothing.

Streamlit already escapes HTML (no ``unsafe_allow_html`` with user text); this covers Markdown
(links, images, emphasis), Streamlit's ``:color[...]`` / ``:material/...:`` directives and ``$`` math.
Where a widget needs no formatting at all, ``st.text`` is simpler.
"""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>:~$&=\"'])")


def md(text: object) -> str:
    """``text`` escaped for any Streamlit Markdown body (``st.markdown``, ``st.error``, captions)."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))
