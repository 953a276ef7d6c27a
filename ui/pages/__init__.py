"""The app's pages, built once per run for ``st.navigation``; :func:`go` switches between them."""

from __future__ import annotations

import streamlit as st

from ui import navigation
from ui.pages import agreement, data, editor, login, model, overview, review, settings, sweep

_SPECS = {
    "overview": (overview.render, "Overview", ":material/dashboard:"),
    "sweep": (sweep.render, "Group sweep", ":material/grid_view:"),
    "editor": (editor.render, "Image editor", ":material/brush:"),
    "data": (data.render, "Data", ":material/database:"),
    "model": (model.render, "Model", ":material/model_training:"),
    "review": (review.render, "Review", ":material/fact_check:"),
    "agreement": (agreement.render, "Agreement", ":material/groups:"),
    "settings": (settings.render, "Settings", ":material/settings:"),
}


def page(name: str) -> st.Page:
    fn, title, icon = _SPECS[name]
    return st.Page(fn, title=title, icon=icon, url_path=name)


def _home() -> None:
    # Streamlit serves the default page at "/" and reserves its url_path, so a default overview
    # made "/overview" a "Page not found": the root forwards there instead.
    navigation.go("overview")


def for_annotator(annotator: str | None) -> list[st.Page]:
    """Signed in: every page (``/`` forwards to ``/overview``); else only the sign-in page."""
    if not annotator:
        return [st.Page(login.render, title="Sign in", icon=":material/login:", url_path="login")]
    home = st.Page(_home, title="Home", url_path="home", default=True, visibility="hidden")
    return [home, *(page(name) for name in _SPECS)]


navigation.install(page)
