"""`grd` command line: ``grd --help`` lists every sub-command."""

# Each module registers its commands on ``app`` when imported.
from pipelines.cli import (
    assist,  # noqa: E402,F401
    exports,  # noqa: E402,F401
    feedback,  # noqa: E402,F401
    flickr,  # noqa: E402,F401
    project,  # noqa: E402,F401
    teams,  # noqa: E402,F401
    train,  # noqa: E402,F401
    ui,  # noqa: E402,F401
    weights,  # noqa: E402,F401
    worker,  # noqa: E402,F401
)
from pipelines.cli._app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
