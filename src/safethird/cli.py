"""The ``safethird`` command.

Exit status: 0 on success; 1 when ``batch`` sent some rows to the errors file (the others were
decided); 2 on unusable input or when nothing could be decided, with one line on stderr naming
the file, row and field — never a traceback for bad input (usage errors too are one line).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from enum import StrEnum
from typing import Annotated, Any, NoReturn

import typer

from safethird.facts import CaseError, load_case_file

EPILOG = ("Exit status: 0 done; 1 batch decided some rows and sent others to the errors file; "
          "2 bad input or nothing decided (one line on stderr). The case facts: docs/cases.md, "
          "`safethird schema`, `safethird template`.")
app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  rich_markup_mode=None, epilog=EPILOG,
                  help="Safe-third-country asylum rules (2019 ACAs, transit bar), explained.")
law_app = typer.Typer(no_args_is_help=True, help="The law data: dates, sources, checks.")
app.add_typer(law_app, name="law")


class Format(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"
    html = "html"


class Detail(StrEnum):
    summary = "summary"
    full = "full"


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
BatchAsOf = Annotated[str | None, typer.Option(
    "--as-of", help="Decide every row as of this date (ISO 8601; default today), also rows "
    "with an as_of of their own unless --as-of-from-rows.")]
VariantOpt = Annotated[str | None, typer.Option("--variant", help="Policy variant(s), comma "
                                                "separated (see `safethird variants`).")]
AssumeOpt = Annotated[list[str] | None, typer.Option(
    "--assume", metavar="FACT=VALUE", help="Fill an unknown fact with a stated value "
    "(repeatable; a known fact is never changed); each one used is listed in the output.")]
AssumeSetOpt = Annotated[list[str] | None, typer.Option(
    "--assume-set", metavar="NAME", help="A named set of stated assumptions (repeatable): "
    "intake-table, no-fear-of-partner (docs/law.md).")]


def _assumptions(pairs: list[str] | None, sets: list[str] | None) -> dict[str, Any]:
    """--assume-set then --assume (a pair given by hand wins over a set's)."""
    from safethird.assume import coerce, expand_set, parse_pairs

    try:
        out: dict[str, Any] = {}
        for name in sets or []:
            out |= expand_set(name)
        out |= parse_pairs(pairs or [])
        coerce(out)  # every value checked before anything is decided
    except CaseError as exc:
        fail(str(exc))
    return out


@app.command()
def decide(
    case: Annotated[str, typer.Argument(help="A case as a JSON file (docs/cases.md), or - "
                                        "for standard input.")],
    as_of: AsOf = None,
    variant: VariantOpt = None,
    format: Annotated[Format, typer.Option(
        "--format", help="text, json, markdown or html (a printable memo)")] = Format.text,
    detail: Annotated[Detail, typer.Option(
        "--detail", help="summary (the answer and what is open) or full (every clause of the "
        "trace with the facts that decided it); text, markdown and html")] = Detail.summary,
    assume: AssumeOpt = None,
    assume_set: AssumeSetOpt = None,
    identity: Annotated[bool, typer.Option(
        "--identity", help="Let 'what would change the outcome' change identity facts too "
        "(nationality, the countries of the route).")] = False,
) -> None:
    """Decide one case: findings, pathway, reasons with citations, missing facts and
    counterfactuals."""
    from safethird.decide import decide as decide_case

    day = _parse_date(as_of, "--as-of")
    variant = _variant(variant)
    assumed = _assumptions(assume, assume_set)
    try:
        facts = load_case_file(case)
        determination = decide_case(facts, as_of=day, variant=variant, assume=assumed,
                                    identity=identity)
    except CaseError as exc:
        fail(str(exc))
    if format is Format.json:
        typer.echo(json.dumps(determination.to_dict(), indent=2, ensure_ascii=False))
    else:
        from safethird import explain

        render = {Format.text: explain.render_text, Format.markdown: explain.render_markdown,
                  Format.html: explain.render_html}[format]
        typer.echo(render(determination, detail=detail.value), nl=False)


@app.command()
def batch(
    inp: Annotated[str, typer.Argument(metavar="IN", help="Cases: .csv, .jsonl, .parquet or a "
                                       "folder of Parquet files.")],
    out: Annotated[str, typer.Option("--out", help="Determinations: .csv, .jsonl, .parquet or "
                                     "a folder (Parquet dataset).")],
    as_of: BatchAsOf = None,
    variant: VariantOpt = None,
    errors: Annotated[str | None, typer.Option(
        "--errors", help="Where invalid rows go (JSON Lines; default OUT.errors.jsonl).")] = None,
    as_of_from_rows: Annotated[bool, typer.Option(
        "--as-of-from-rows", help="A row's own as_of wins over --as-of.")] = False,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Replace an OUT folder that holds other files.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar or summary.")] = False,
    dask: Annotated[str | None, typer.Option(
        "--dask", envvar="SAFETHIRD_DASK",
        help="Address of a dask.distributed scheduler: decide a Parquet dataset there.")] = None,
    chunk_rows: Annotated[int | None, typer.Option(
        "--chunk-rows", min=1000, help="Rows per chunk (bounds memory; default 250,000, with "
        "--dask 1,000,000 per partition).")] = None,
    threads: Annotated[int | None, typer.Option(
        "--threads", min=1, help="Chunks decided at once (default: one per core).")] = None,
    assume: AssumeOpt = None,
    assume_set: AssumeSetOpt = None,
    with_missing: Annotated[bool, typer.Option(
        "--with-missing", help="Add each row's missing facts, ranked (column missing_facts; "
        "slower: the rows left open are searched in full).")] = False,
) -> None:
    """Decide many cases; every input row ends up in OUT or in the errors file (one line per
    problem, with the row and the file's line). Exit status 0: every row decided; 1: some rows
    in the errors file; 2: nothing decided, or the input unusable."""
    from safethird.batch.read import UnusableInput
    from safethird.batch.run import RefusedOutput, run_batch
    from safethird.batch.summary import render

    day = _parse_date(as_of, "--as-of")
    variant = _variant(variant)
    assumed = _assumptions(assume, assume_set)
    if dask and (assumed or with_missing):
        fail("--assume, --assume-set and --with-missing are not available with --dask yet")
    try:
        if dask:
            from safethird.batch.distributed import run_on_dask

            result = run_on_dask(inp, out, dask, as_of=day, variant=variant, errors=errors,
                                 rows_per_partition=chunk_rows or 1_000_000,
                                 as_of_from_rows=as_of_from_rows, overwrite=overwrite)
        else:
            result = run_batch(inp, out, as_of=day, variant=variant, errors=errors,
                               quiet=quiet, chunk_rows=chunk_rows or 250_000,
                               threads=threads, as_of_from_rows=as_of_from_rows,
                               overwrite=overwrite, assume=assumed, with_missing=with_missing)
    except (UnusableInput, RefusedOutput, CaseError, OSError) as exc:
        fail(str(exc))
    if not quiet:
        typer.echo(render(result.counts, result))
    if result.exit_status:
        typer.echo(f"safethird: {result.rows_error:,} of {result.rows_in:,} rows not decided: "
                   f"see {result.errors_path}", err=True)
    raise typer.Exit(result.exit_status)


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
    except Exception as exc:  # a file that is not a batch output: the reason's first line only
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        fail(f"{out}: not a safethird batch output ({reason[:120]})")


class SchemaFormat(StrEnum):
    json = "json"
    markdown = "markdown"


class SchemaOf(StrEnum):
    both = "both"
    case = "case"
    determination = "determination"


class TemplateFormat(StrEnum):
    csv = "csv"
    json = "json"
    jsonl = "jsonl"


@app.command()
def schema(
    format: Annotated[SchemaFormat, typer.Option(
        "--format", help="json: JSON Schema; markdown: docs/cases.md.")] = SchemaFormat.json,
    of: Annotated[SchemaOf, typer.Option(
        "--of", help="case, determination or both (json only).")] = SchemaOf.both,
) -> None:
    """The case schema, generated from the code: the JSON Schema of a case and of a
    determination, or docs/cases.md (every fact, its values, what unknown means, the CSV and
    Parquet layouts)."""
    from safethird.schema import case_json_schema, cases_markdown, determination_json_schema

    if format is SchemaFormat.markdown:
        typer.echo(cases_markdown(), nl=False)
        return
    out = {"case": case_json_schema, "determination": determination_json_schema}
    data = {k: f() for k, f in out.items()} if of is SchemaOf.both else out[of.value]()
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


@app.command()
def template(
    format: Annotated[TemplateFormat, typer.Option(
        "--format", help="csv: a spreadsheet header; json or jsonl: a blank case.")
    ] = TemplateFormat.csv,
) -> None:
    """A blank case with every field (unknown), to fill in: a CSV header (the flat spreadsheet
    layout, three route legs) or a JSON case (docs/cases.md)."""
    from safethird.schema import template as make

    typer.echo(make(format.value), nl=False)


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
               f"Protocol, Convention against Torture; `safethird law show countries`)")
    for m in law.not_encoded.measures if law.not_encoded else ():
        typer.echo(f"{m.id}  not encoded (warning)  arrivals {m.from_}→{m.until or '…'}  "
                   f"status as of {m.status_date}")
    typer.echo(f"sources  {len(law.sources)}")


@law_app.command("show")
def law_show(
    id: Annotated[str, typer.Argument(help="An agreement id or partner code, 'transit-bar', "
                                      "'visa-exemptions', 'countries', a country code or a "
                                      "source id; a prefix "
                                      "agreement:, country: or source: picks one kind.")],
    document: Annotated[bool, typer.Option("--document", help="Weave the rule tree into a "
                                           "readable document of the law as encoded.")] = False,
) -> None:
    """One piece of the law data with its dates and sources."""
    from safethird.law.data import load_law
    from safethird.law.document import render_document, render_item

    law = load_law()
    if id == "countries" and not document:
        typer.echo(_countries_table(law))
        return
    kind, _, key = id.rpartition(":")
    kinds = _kinds_of(law, key)
    if kind:
        if kind not in ("agreement", "country", "source", "rule"):
            fail(f"law show: unknown kind {kind!r} (agreement, country, source or rule)")
        if kind not in kinds:
            fail(f"law show: no {kind} {key!r} (see `safethird law list`)")
    elif not kinds:
        fail(f"law show: no agreement, rule, country or source {id!r} (see `safethird law "
             f"list`; `safethird law show countries` lists the countries)")
    shown = kind or kinds[0]
    try:
        if document:
            text = render_document(law, key)
        elif shown == "country":
            text = render_item(_only_country(law), key)
        elif shown == "source":
            text = render_item(_only_sources(law), key)
        else:
            text = render_item(law, key)
    except KeyError:
        fail(f"law show: nothing to show for {id!r} (see `safethird law list`)")
    others = [k for k in kinds if k != shown]
    header = f"# {shown} {key}"
    if others:
        header += " (also " + ", ".join(f"a {k}: `safethird law show {k}:{key}`"
                                        for k in others) + ")"
    typer.echo(header if document else f"{header}\n{text}")
    if document:
        typer.echo(text)


def _kinds_of(law, key: str) -> list[str]:
    """What a name in `law show` refers to, in the order it is shown by default."""
    kinds = []
    if any(key in (a.id, a.partner) for a in law.agreements):
        kinds.append("agreement")
    ne = law.not_encoded
    if key in ("transit-bar", law.transit_bar.id) or (
            law.clp is not None and key in ("clp", law.clp.id)) or (
            ne is not None and (key in ("horizon", "law_reviewed_through")
                                or any(key == m.id for m in ne.measures))) or (
            law.visas is not None and key in ("visa-exemptions", law.visas.id)):
        kinds.append("rule")
    if key in law.countries:
        kinds.append("country")
    if key in law.sources:
        kinds.append("source")
    return kinds


def _only_country(law):
    return law.with_(agreements=())


def _only_sources(law):
    return law.with_(agreements=(), countries={})


def _countries_table(law) -> str:
    lines = [f"{len(law.countries)} countries: the dates each became party to the 1951 "
             f"Convention, the 1967 Protocol and the Convention against Torture "
             f"(`safethird law show CODE` for the sources)",
             f"{'code':<5} {'name':<40} " + " ".join(f"{k:<12}" for k in _treaty_keys(law))]
    for code, c in sorted(law.countries.items()):
        dates = [c.treaties[k].value if k in c.treaties else None for k in _treaty_keys(law)]
        cells = " ".join(f"{str(d) if d else '–':<12}" for d in dates)
        lines.append(f"{code:<5} {c.name[:40]:<40} {cells}")
    return "\n".join(lines)


def _treaty_keys(law) -> list[str]:
    return list(dict.fromkeys(k for c in law.countries.values() for k in c.treaties))


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

from safethird.web.commands import register as _register_workspace  # noqa: E402

_register_workspace(app)  # serve, users, audit, store


def main(argv: list[str] | None = None) -> None:
    """Run the command; every error is one line on stderr (usage errors too, not Click's
    boxes), with status 2 for bad input. An error that is a bug (no bad input explains it) is
    one line with status 70 (EX_SOFTWARE); SAFETHIRD_DEBUG=1 shows its traceback."""
    import os

    try:  # Typer 0.29 carries its own copy of Click
        from typer._click import exceptions as click
    except ImportError:  # pragma: no cover - an older Typer on Click itself
        from click import exceptions as click

    try:
        status = app(args=argv, prog_name="safethird", standalone_mode=False)
    except click.NoArgsIsHelpError as exc:
        typer.echo(exc.ctx.get_help() if exc.ctx else str(exc))  # asked for nothing: help
        status = 0
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx else "safethird"
        message = " ".join(exc.format_message().split())
        typer.echo(f"{where}: {message} (see `{where} --help`)", err=True)
        status = 2
    except click.ClickException as exc:
        typer.echo(f"safethird: {' '.join(exc.format_message().split())}", err=True)
        status = exc.exit_code
    except typer.Abort:
        typer.echo("safethird: interrupted", err=True)
        status = 130
    except (CaseError, UnicodeError) as exc:
        typer.echo(f"safethird: {exc}", err=True)
        status = 2
    except OSError as exc:  # a path that is a folder, unreadable, or on a full disk
        typer.echo(f"safethird: {exc.filename or ''}: {exc.strerror or exc}".lstrip(": "),
                   err=True)
        status = 2
    except Exception as exc:
        if os.environ.get("SAFETHIRD_DEBUG"):
            raise
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        typer.echo(f"safethird: internal error ({type(exc).__name__}: {first}); please "
                   f"report it (SAFETHIRD_DEBUG=1 shows the traceback)", err=True)
        status = 70
    sys.exit(status if isinstance(status, int) else 0)


if __name__ == "__main__":
    main()
