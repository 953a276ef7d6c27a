"""`grd` command line: ``grd --help`` lists every sub-command."""

from pipelines.cli._app import app

# Each module registers its commands on ``app`` when imported.
from pipelines.cli import project  # noqa: E402,F401
from pipelines.cli import flickr  # noqa: E402,F401
from pipelines.cli import train  # noqa: E402,F401
from pipelines.cli import ui  # noqa: E402,F401
from pipelines.cli import feedback  # noqa: E402,F401
from pipelines.cli import exports  # noqa: E402,F401
from pipelines.cli import weights  # noqa: E402,F401


def main() -> None:
    app()


__all__ = ["app", "main"]
