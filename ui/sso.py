"""Single sign-on through Streamlit's OIDC support (``st.login``), mapped onto the project's users.

Offered only when ``.streamlit/secrets.toml`` has an ``[auth]`` section and the project has users.
The provider authenticates; ``store.sso_token`` maps its e-mail onto an existing user (roles as
for passwords) or refuses. These two readers are the only places that touch ``st.user`` and
``st.secrets``, so tests can stand in for a provider.
"""

from __future__ import annotations

import streamlit as st


def configured() -> bool:
    """Whether the app has an identity provider configured (``[auth]`` in its secrets)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: Streamlit raises rather than answering False
        return False


def identity() -> str | None:
    """The e-mail the provider vouched for in this browser session, if any."""
    if not configured() or not getattr(st.user, "is_logged_in", False):
        return None
    return st.user.get("email") or None


def login() -> None:
    st.login()


def logout() -> None:
    st.logout()
