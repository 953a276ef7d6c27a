"""The one typer application behind the ``grd`` command.

Sub-command modules in this package import ``app`` from here and register their commands on it;
``pipelines/cli/__init__.py`` imports them all. Heavy imports (torch, streamlit) stay inside the
command bodies so ``grd --help`` answers instantly.
"""

from pipelines.cli.conventions import GrdTyper

app = GrdTyper(
    name="grd",
    help="Group-wise referring expression segmentation (GRES) labeler.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
