"""Onboarding commands: `auditor init DIR`, `auditor validate`, `auditor registry import`.

Kept apart from auditor/cli.py; `register_onboarding(app)` adds them. None of them calls a platform,
opens the database or takes the run lock. Exit codes: 0 done, 2 bad input or refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from auditor.cli_ops import DivisionOption, division_or_exit
from auditor.exit_codes import EXIT_BAD_INPUT
from auditor.form_headers import RECOGNISED_HEADERS

if TYPE_CHECKING:
    from auditor.inputs import InputError

registry_app = typer.Typer(no_args_is_help=True, help="Registry (Form 8-06) tools.")


def _print_problems(exc: InputError, what: str) -> None:
    # One problem per line, never wrapped: the same form as every other input error.
    typer.echo(f"{what} ({len(exc.problems)} problem(s); nothing was written):", err=True)
    for problem in exc.problems:
        typer.echo(f"  {problem}", err=True)


def init_division(
    folder: Annotated[Path, typer.Argument(help="The new division folder (must not exist, or be empty).")],
) -> None:
    """Create a division folder: example registry, directory, activities, policy.yaml with every default, .env."""
    from auditor.scaffold import ScaffoldRefused, scaffold

    try:
        written = scaffold(folder)
    except ScaffoldRefused as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    for path in written:
        typer.echo(f"created {path}")
    typer.echo(
        f"Next: replace the examples, move {folder / '.env'} to the folder you run the auditor from, "
        f"and check with `auditor validate --division {folder}`."
    )


def validate(division: DivisionOption = Path("division")) -> None:
    """Load and cross-check every input; call no platform, write nothing (exit 0 ok, 2 problems)."""
    loaded = division_or_exit(division)
    typer.echo(f"ok: {len(loaded.accounts)} accounts, {len(loaded.people)} people, {len(loaded.activities)} activities")


_HEADERS_HELP = "; ".join(f"{name}: {' | '.join(headers)}" for name, headers in RECOGNISED_HEADERS.items())


def import_registry(
    source: Annotated[Path, typer.Argument(help="The Form 8-06 spreadsheet: .xlsx, or .csv saved as UTF-8.")],
    out: Annotated[Path, typer.Option("--out", help="The registry YAML to write, e.g. division/registry/forms.yaml.")],
    mapping_file: Annotated[
        Path | None,
        typer.Option("--mapping", help="YAML naming the sheet's own columns and values (see `auditor init`)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace --out if it exists.")] = False,
) -> None:
    """Import Form 8-06 registrations. Recognised headers (case, spaces and punctuation ignored) per field:"""
    from auditor.inputs import InputError
    from auditor.registry_import import ImportMapping, import_forms, load_mapping, registry_text, write_atomically

    if out.exists() and not force:
        typer.echo(f"{out} exists: nothing was written (--force replaces it)", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    try:
        mapping = load_mapping(mapping_file) if mapping_file else ImportMapping()
        result = import_forms(source, mapping)
    except InputError as exc:
        _print_problems(exc, "Rows or columns that cannot be mapped")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    write_atomically(out, registry_text(source, result.entries))
    if result.ignored_columns:
        typer.echo(f"ignored column(s): {', '.join(result.ignored_columns)}", err=True)
    typer.echo(f"wrote {len(result.entries)} accounts to {out}; check them with `auditor validate`")


import_registry.__doc__ = f"{import_registry.__doc__} {_HEADERS_HELP}."


def register_onboarding(app: typer.Typer) -> None:
    app.command("init")(init_division)
    app.command()(validate)
    registry_app.command("import")(import_registry)
    app.add_typer(registry_app, name="registry")
