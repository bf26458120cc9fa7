"""The ``safethird`` command (CONTRACT.md section 3).

Exit status: 0 on success; 2 on unusable input, with one line on stderr naming the file, row and
field — never a traceback for bad input.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from enum import StrEnum
from typing import Annotated, NoReturn

import typer

from safethird.facts import CaseError, load_case_file

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Safe-third-country asylum rules (2019 ACAs, transit bar), explained.")
law_app = typer.Typer(no_args_is_help=True, help="The law data: dates, sources, checks.")
app.add_typer(law_app, name="law")


class Format(StrEnum):
    text = "text"
    json = "json"


def fail(message: str) -> NoReturn:
    typer.echo(f"safethird: {message}", err=True)
    raise typer.Exit(2)


def _parse_date(value: str | None, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{name}: not an ISO 8601 date (YYYY-MM-DD): {value!r}")


def _variant(value: str | None) -> str | None:
    from safethird.law.variants import UnknownVariant, parse_variants

    try:
        parse_variants(value)
    except UnknownVariant as exc:
        fail(f"--variant: {exc}")
    return value


AsOf = Annotated[str | None, typer.Option("--as-of", help="Decide as of this date (ISO 8601); "
                                          "default: the case's as_of, else today.")]
VariantOpt = Annotated[str | None, typer.Option("--variant", help="Policy variant(s), comma "
                                                "separated (see `safethird variants`).")]


@app.command()
def decide(
    case: Annotated[str, typer.Argument(help="A case as a JSON file (CONTRACT.md section 1).")],
    as_of: AsOf = None,
    variant: VariantOpt = None,
    format: Annotated[Format, typer.Option("--format", help="text or json")] = Format.text,
) -> None:
    """Decide one case: findings, pathway, reasons with citations, missing facts and
    counterfactuals."""
    from safethird.decide import decide as decide_case

    day = _parse_date(as_of, "--as-of")
    variant = _variant(variant)
    try:
        facts = load_case_file(case)
        determination = decide_case(facts, as_of=day, variant=variant)
    except CaseError as exc:
        fail(str(exc))
    if format is Format.json:
        typer.echo(json.dumps(determination.to_dict(), indent=2, ensure_ascii=False))
    else:
        typer.echo(str(determination))


@app.command()
def batch(
    inp: Annotated[str, typer.Argument(metavar="IN", help="Cases: .csv, .jsonl, .parquet or a "
                                       "folder of Parquet files.")],
    out: Annotated[str, typer.Option("--out", help="Determinations: .csv, .jsonl, .parquet or "
                                     "a folder (Parquet dataset).")],
    as_of: AsOf = None,
    variant: VariantOpt = None,
    errors: Annotated[str | None, typer.Option(
        "--errors", help="Where invalid rows go (JSON Lines; default OUT.errors.jsonl).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar or summary.")] = False,
    dask: Annotated[str | None, typer.Option(
        "--dask", envvar="SAFETHIRD_DASK",
        help="Address of a dask.distributed scheduler: decide a Parquet dataset there.")] = None,
    chunk_rows: Annotated[int | None, typer.Option(
        "--chunk-rows", min=1000, help="Rows per chunk (bounds memory; default 250,000, with "
        "--dask 1,000,000 per partition).")] = None,
    threads: Annotated[int | None, typer.Option(
        "--threads", min=1, help="Chunks decided at once (default: one per core).")] = None,
) -> None:
    """Decide many cases; every input row ends up in OUT or in the errors file."""
    from safethird.batch.read import UnusableInput
    from safethird.batch.run import run_batch
    from safethird.batch.summary import render

    day = _parse_date(as_of, "--as-of")
    variant = _variant(variant)
    try:
        if dask:
            from safethird.batch.distributed import run_on_dask

            result = run_on_dask(inp, out, dask, as_of=day, variant=variant, errors=errors,
                                 rows_per_partition=chunk_rows or 1_000_000)
        else:
            result = run_batch(inp, out, as_of=day, variant=variant, errors=errors,
                               quiet=quiet, chunk_rows=chunk_rows or 250_000,
                               threads=threads)
    except (UnusableInput, ValueError, OSError) as exc:
        fail(str(exc))
    if not quiet:
        if day is None:
            typer.echo(f"note: no --as-of: rows without as_of were decided as of "
                       f"{dt.date.today()}")
        typer.echo(render(result.counts, result))


@app.command()
def summarize(
    out: Annotated[str, typer.Argument(help="An output of `safethird batch`.")],
) -> None:
    """Counts by pathway and reason for an existing batch output."""
    from pathlib import Path

    from safethird.batch.summary import counts_of, render

    path = Path(out)
    if not path.exists():
        fail(f"{out}: no such file or folder")
    try:
        typer.echo(render(counts_of(path)))
    except Exception as exc:  # a file that is not a batch output
        fail(f"{out}: not a safethird batch output ({exc})")


@app.command()
def variants() -> None:
    """The named policy variants and what each changes."""
    from safethird.law.variants import VARIANTS

    for v in VARIANTS.values():
        typer.echo(f"{v.name}\n  {v.summary}\n  source: {v.source}\n")


@law_app.command("list")
def law_list() -> None:
    """The agreements and rules in the law data, with their key dates."""
    from safethird.law.data import load_law

    law = load_law()
    typer.echo(f"law version {law.version}")
    if law.not_encoded is not None:
        typer.echo(f"law reviewed through {law.not_encoded.horizon.reviewed_through} (the newest "
                   f"source the law data rests on)")
    typer.echo("")
    for a in law.agreements:
        ops = ", ".join(f"{p.from_}→{p.until or '…'}" for p in a.operation) or "never operated"
        typer.echo(f"{a.id}  partner {a.partner}  signed {a.signed.date}  in force "
                   f"{a.entry_into_force.date}  arrivals from {a.applies_to_arrivals.from_}  "
                   f"suspended {a.suspended.date}  operated: {ops}"
                   + (f"  status {a.legal_status.value} (legal basis {a.legal_status.basis})"
                      if a.legal_status else ""))
    tb = law.transit_bar
    typer.echo(f"{tb.id}  {tb.provision}  entries from {tb.applies_to_entries.from_}  versions: "
               + ", ".join(f"{v.id} {v.from_}→{v.until or '…'}" for v in tb.versions)
               + f"  court orders: {len(tb.court_orders)}")
    typer.echo(f"countries  {len(law.countries)} (treaty status: 1951 Convention, 1967 "
               f"Protocol, Convention against Torture)")
    for m in law.not_encoded.measures if law.not_encoded else ():
        typer.echo(f"{m.id}  not encoded (warning)  arrivals {m.from_}→{m.until or '…'}  "
                   f"status as of {m.status_date}")
    typer.echo(f"sources  {len(law.sources)}")


@law_app.command("show")
def law_show(
    id: Annotated[str, typer.Argument(help="An agreement id, 'transit-bar', a country code "
                                      "or a source id.")],
    document: Annotated[bool, typer.Option("--document", help="Weave the rule tree into a "
                                           "readable document of the law as encoded.")] = False,
) -> None:
    """One piece of the law data with its dates and sources."""
    from safethird.law.data import load_law
    from safethird.law.document import render_document, render_item

    law = load_law()
    try:
        typer.echo(render_document(law, id) if document else render_item(law, id))
    except KeyError:
        fail(f"law show: no agreement, rule, country or source {id!r} (see `safethird law list`)")


@law_app.command("check")
def law_check() -> None:
    """Validate the law data: sources, date order, country codes, citations."""
    from safethird.law.check import check
    from safethird.law.data import load_law

    report = check(load_law())
    for w in report.warnings:
        typer.echo(f"warning: {w}")
    for e in report.errors:
        typer.echo(f"error: {e}", err=True)
    counts = ", ".join(f"{v} {k}" for k, v in sorted(report.counts.items()))
    typer.echo(f"{'ok' if report.ok else 'FAILED'}: {len(report.errors)} errors, "
               f"{len(report.warnings)} warnings ({counts})")
    if not report.ok:
        raise typer.Exit(1)


def _register_simulation() -> None:
    """The simulation commands (population, scenarios, simulate, compare) live with the flow
    model; registered here so the command line stays one `safethird`."""
    try:
        from safethird.flow.commands import register
    except ModuleNotFoundError as exc:  # the flow package is optional until it lands
        if exc.name and exc.name.startswith("safethird.flow"):
            return
        raise
    register(app)


_register_simulation()


def main() -> None:
    try:
        app()
    except CaseError as exc:  # pragma: no cover - commands catch their own
        typer.echo(f"safethird: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
