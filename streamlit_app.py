"""GRES labeler: ``streamlit run streamlit_app.py -- --project DIR`` (or set GRD_PROJECT).

Page config, the annotator's sign-in and navigation; everything else lives in ``ui/``.
"""

import streamlit as st

from ui import pages, state
from ui.pages import login

st.set_page_config(page_title="GRES labeler", page_icon=":material/layers:", layout="wide")
login.restore_from_url()
if state.annotator():
    login.sidebar()
st.navigation(pages.for_annotator(state.annotator())).run()
