"""Help text in the usual Unix style for every ``grd`` command.

Typer's defaults print ``{directory} {out}`` for required arguments and ``<bool>`` beside on/off
flags; ``grd`` commands read ``Usage: grd export [OPTIONS] DIRECTORY OUT`` and show no type for a
flag. ``GrdTyper`` makes ``GrdCommand`` the class of every command registered on it.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup


def _conventional(param: Any) -> None:
    """Arguments are named in capitals; flags (``--copy-images``, ``--help``) show no type."""
    if param.metavar is not None:
        return
    if isinstance(param, TyperArgument) and param.name:
        param.metavar = param.name.upper()
    elif getattr(param, "is_flag", False) or getattr(param, "count", False):
        param.metavar = ""


class GrdCommand(TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        for param in params:
            _conventional(param)
        return params

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                name = param.metavar or (param.name or "").upper()
                name += "..." if param.nargs != 1 else ""
                pieces.append(name if param.required else f"[{name}]")
        return pieces


class GrdGroup(TyperGroup):
    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        for param in params:
            _conventional(param)
        return params


class GrdTyper(typer.Typer):
    """A ``typer.Typer`` whose group and commands print conventional help."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("cls", GrdGroup)
        super().__init__(*args, **kwargs)

    def command(self, *args: Any, cls: type[TyperCommand] | None = None, **kwargs: Any):
        return super().command(*args, cls=cls or GrdCommand, **kwargs)
