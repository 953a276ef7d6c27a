"""Streamlit user interface: thin pages over ``labeler`` use-cases and ``pipelines`` jobs.

The project folder comes from ``streamlit run streamlit_app.py -- --project DIR``, else the
``GRD_PROJECT`` environment variable, else ``./demo_project`` (see :mod:`ui.resources`).
"""
