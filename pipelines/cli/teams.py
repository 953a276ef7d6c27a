"""Team commands: `grd users add/list/role/remove`, `grd assign`, `grd review`, `grd agreement`,
`grd settings`.

The command line runs as whoever can open the project's database; it acts as ``--as`` (default: the
only admin, or local mode while the project has no users) and the store checks that user's role.
"""

from __future__ import annotations

import math
import sys
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from labeler.accounts import ROLES
from labeler.agreement import (
    agreement_by_expression,
    annotator_agreement,
    gold_accuracy,
    per_annotator,
)
from labeler.blind import check_share, choose_overlap
from labeler.errors import LabelerError
from labeler.store.blind import BLIND_SOURCE, SAVES_SOURCE
from pipelines.cli._app import app
from pipelines.cli.conventions import GrdTyper
from pipelines.cli.project import ProjectDir, open_project

console = Console()
err = Console(stderr=True, soft_wrap=True)

users_app = GrdTyper(
    help="Accounts of a project: add, list, change role, remove.", no_args_is_help=True
)
app.add_typer(users_app, name="users")

ActingAs = Annotated[
    str | None, typer.Option("--as", help="Acting user (default: the first admin).")
]


def _fail(exc: Exception) -> None:
    err.print(f"[red]error:[/red] {exc}")
    raise typer.Exit(code=2) from None


def _acting(store, name: str | None) -> str:
    """``name``, or the first admin: the CLI is trusted as the owner of the database file."""
    if name:
        return name
    admins = [u.name for u in store.list_users() if u.role == "admin"]
    return admins[0] if admins else "cli"


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def users_add(
    directory: ProjectDir,
    name: str,
    role: Annotated[str, typer.Option(help=f"One of {', '.join(ROLES)}.")] = "annotator",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Add a user. The first user of a project must be an admin (it ends local single-user mode)."""
    project = open_project(directory)
    store = project.store
    try:
        if not store.has_users() and role != "admin":
            raise LabelerError("the first user of a project must be an admin (--role admin)")
        user = store.add_user(name, role, _read_password(password_stdin))
    except LabelerError as exc:
        _fail(exc)
    console.print(f"added {user.name} ({user.role})")


@users_app.command("list")
def users_list(directory: ProjectDir) -> None:
    """Users and roles (never their password hashes)."""
    store = open_project(directory).store
    users = store.list_users()
    if not users:
        console.print("no users: local single-user mode (anyone who reaches the app may annotate)")
        return
    now = datetime.now(UTC)
    for u in users:
        locked = u.locked_until and u.locked_until > now
        lock = f"\tsign-in locked until {u.locked_until:%H:%M:%S} UTC" if locked else ""
        console.print(f"{u.name}\t{u.role}{lock}")


@users_app.command("role")
def users_role(directory: ProjectDir, name: str, role: str) -> None:
    """Change a user's role (their open sessions end)."""
    try:
        user = open_project(directory).store.set_role(name, role)
    except LabelerError as exc:
        _fail(exc)
    console.print(f"{user.name} is now {user.role}")


@users_app.command("remove")
def users_remove(directory: ProjectDir, name: str) -> None:
    """Remove a user; their decisions stay, attributed to their name."""
    try:
        open_project(directory).store.remove_user(name)
    except LabelerError as exc:
        _fail(exc)
    console.print(f"removed {name}; their decisions keep their name")


@app.command()
def assign(
    directory: ProjectDir,
    group: Annotated[str, typer.Option(help="Group name or id.")],
    to: Annotated[str, typer.Option("--to", help="The annotator's user name.")],
    expression: Annotated[
        str | None, typer.Option(help="Only this expression (id or exact text).")
    ] = None,
    second_to: Annotated[
        str | None,
        typer.Option(
            "--second-to",
            help="A second annotator who judges a share (--overlap) of these pairs, blind to "
            "--to's decisions (and --to to theirs).",
        ),
    ] = None,
    overlap: Annotated[
        float | None,
        typer.Option(
            help="Share (0-1) of the assigned (expression, image) pairs --second-to gets."
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Seed of the overlap's draw: same seed, same pairs.")
    ] = 0,
    acting: ActingAs = None,
) -> None:
    """Assign a group, or one (group, expression), to a user: their Next up offers it first.
    With --second-to and --overlap, a reproducible share of its pairs is also given to a second
    annotator, blind (docs/teams.md, "Blind double assignment")."""
    store = open_project(directory).store
    blind = None
    try:
        if (second_to is None) != (overlap is None):
            raise LabelerError(
                "--second-to and --overlap go together (e.g. --second-to bea --overlap 0.2)"
            )
        if overlap is not None:
            check_share(overlap)
        g = store.find_group(group)
        expression_id = None
        if expression is not None:
            matches = [
                e.id for e in store.list_expressions(g.id) if expression in (str(e.id), e.text)
            ]
            if not matches:
                raise LabelerError(f"group {g.name!r} has no expression {expression!r}")
            expression_id = matches[0]
        actor = _acting(store, acting)
        with store.unit():  # the assignment and its blind share, all or nothing
            store.assign(g.id, to, actor=actor, expression_id=expression_id)
            if second_to is not None:
                expressions = (
                    [expression_id]
                    if expression_id
                    else [e.id for e in store.list_expressions(g.id)]
                )
                pairs = [(e, i.id) for e in expressions for i in store.list_images(g.id)]
                chosen = choose_overlap(pairs, overlap, seed)
                blind = (
                    len(chosen),
                    len(pairs),
                    *store.assign_blind(chosen, to, second_to, actor=actor),
                )
    except LabelerError as exc:
        _fail(exc)
    what = f"expression {expression_id} of " if expression_id else ""
    console.print(f"assigned {what}group {g.name} to {to}")
    if blind is not None:
        chosen, total, added, already = blind
        console.print(
            f"blind: {chosen} of {total} pairs also to {second_to} (seed {seed}; {added} new, "
            f"{already} already blind)"
        )


def _fmt(x: float, spec: str = ".3f") -> str:
    return "-" if math.isnan(x) else format(x, spec)


@app.command()
def agreement(directory: ProjectDir) -> None:
    """Agreement between annotators (Cohen's kappa on presence, mask IoU), per annotator pair, per
    expression and per annotator, and accuracy on gold. Computed from the blind pairs once any is
    assigned, else from each person's last own save of each pair (the first line says which)."""
    store = open_project(directory).store
    source, judgements = store.agreement_judgements()
    console.print(f"source: {_SOURCES[source]}")
    pairs = annotator_agreement(judgements)
    Console().print(_pair_table("agreement between annotators", pairs))
    if not pairs:
        console.print("no pair was judged by two annotators yet")
    by_expression = agreement_by_expression(judgements)
    if by_expression:
        texts = {e.id: e.text for e in store.list_expressions()}
        rows = [(texts.get(eid, str(eid)), p) for eid, ps in by_expression.items() for p in ps]
        Console().print(_pair_table("per expression", [p for _, p in rows], [t for t, _ in rows]))
    everything, gold_pairs = store.all_judgements(), store.gold()
    people = per_annotator(judgements, gold_pairs, everything)
    if people:
        table = Table(title="per annotator")
        for col in ("annotator", "pairs judged", "agreement", "gold accuracy"):
            table.add_column(col)
        for a in people:
            table.add_row(
                a.annotator,
                str(a.judged),
                f"{_fmt(a.agreement, '.0%')} of {a.compared}",
                f"{_fmt(a.gold_accuracy, '.0%')} of {a.gold_judged}",
            )
        Console().print(table)
    for g in gold_accuracy(everything, gold_pairs):
        console.print(f"gold\t{g.annotator}\t{g.correct}/{g.judged}\t{_fmt(g.accuracy, '.0%')}")


_SOURCES = {
    BLIND_SOURCE: "blind pairs (each pair's decision against its second annotator's blind judgement)",
    SAVES_SOURCE: "each annotator's last own save of each pair (no blind pairs assigned)",
}


def _pair_table(title: str, pairs, expressions: list[str] | None = None) -> Table:
    table = Table(title=title)
    columns = ("annotator A", "annotator B", "shared pairs", "kappa", "both positive", "mean IoU")
    for col in (("expression",) if expressions else ()) + columns:
        table.add_column(col)
    for k, p in enumerate(pairs):
        table.add_row(
            *([expressions[k]] if expressions else []),
            p.annotator_a,
            p.annotator_b,
            str(p.shared),
            _fmt(p.kappa),
            str(p.both_positive),
            _fmt(p.mean_iou),
        )
    return table


def _pair(store, expression: int, image: int) -> tuple[int, int]:
    store.get_expression(expression)
    store.get_image(image)
    return expression, image


@app.command()
def review(
    directory: ProjectDir,
    expression: Annotated[int, typer.Argument(help="Expression id.")],
    image: Annotated[int, typer.Argument(help="Image id.")],
    reject: Annotated[
        bool, typer.Option("--reject", help="Reject (default: accept); needs --reason.")
    ] = False,
    reason: Annotated[str, typer.Option(help="Why (shown to the annotator).")] = "",
    acting: ActingAs = None,
) -> None:
    """Accept or reject a pair's decision; a rejection goes back to its annotator with the reason."""
    store = open_project(directory).store
    try:
        eid, iid = _pair(store, expression, image)
        verdict = "rejected" if reject else "accepted"
        done = store.review(eid, iid, verdict, reviewer=_acting(store, acting), reason=reason)
    except LabelerError as exc:
        _fail(exc)
    console.print(f"{done.verdict}: expression {eid}, image {iid} (by {done.annotator})")


@app.command()
def gold(
    directory: ProjectDir,
    expression: Annotated[int, typer.Argument(help="Expression id.")],
    image: Annotated[int, typer.Argument(help="Image id.")],
    acting: ActingAs = None,
) -> None:
    """Freeze a decided pair as gold: `grd agreement` scores every annotator against it."""
    store = open_project(directory).store
    try:
        eid, iid = _pair(store, expression, image)
        store.mark_gold(eid, iid, actor=_acting(store, acting))
    except LabelerError as exc:
        _fail(exc)
    console.print(f"gold: expression {eid}, image {iid}")


@app.command("settings")
def settings(
    directory: ProjectDir,
    ingest_root: Annotated[
        list[str] | None,
        typer.Option(
            "--ingest-root",
            metavar="FOLDER",
            help="A server folder the app's Data page may read (repeat; replaces the list).",
        ),
    ] = None,
    no_ingest_roots: Annotated[
        bool, typer.Option("--no-ingest-roots", help="Turn reading the server's disk off.")
    ] = False,
    allow_private_urls: Annotated[
        bool | None,
        typer.Option(
            "--allow-private-urls/--public-urls-only",
            help="Whether URL ingest may reach loopback, link-local and private addresses.",
        ),
    ] = None,
    acting: ActingAs = None,
) -> None:
    """Show, or change, what the server may read and fetch for ingest (see docs/teams.md)."""
    from pipelines.services import team_admin

    store = open_project(directory).store
    roots, private = team_admin.intake_settings(store)
    if ingest_root or no_ingest_roots or allow_private_urls is not None:
        try:
            roots, private = team_admin.set_intake_settings(
                store,
                actor=_acting(store, acting),
                ingest_roots=[] if no_ingest_roots else (ingest_root or roots),
                allow_private_urls=private if allow_private_urls is None else allow_private_urls,
            )
        except LabelerError as exc:
            _fail(exc)
    # Plain lines (no Rich wrapping): paths are long, and scripts read this.
    typer.echo(f"ingest_roots\t{', '.join(roots) or '(none: the server disk is off)'}")
    typer.echo(f"allow_private_urls\t{str(private).lower()}")
