"""The simulation commands: ``population``, ``scenarios``, ``simulate``, ``compare``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer


def _fail(message: str) -> None:
    typer.echo(f"safethird: {message}", err=True)
    raise typer.Exit(2)


def _date(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        _fail(f"{name}: not an ISO 8601 date (YYYY-MM-DD): {value!r}")
        raise


def register(app: typer.Typer) -> None:
    @app.command()
    def population(
        start: Annotated[str, typer.Option(help="First arrival day (ISO date).")] = "2018-10-01",
        end: Annotated[str, typer.Option(help="Last arrival day (ISO date).")] = "2020-09-30",
        out: Annotated[Path | None, typer.Option(help="Write the people (Parquet or CSV).")
                       ] = None,
        seed: Annotated[int | None, typer.Option(help="Monte Carlo draw (default: the "
                                                 "deterministic population).")] = None,
        variant: Annotated[str | None, typer.Option(help="Policy variant(s) for the rules.")
                           ] = None,
    ) -> None:
        """Build a synthetic population of Southwest border encounters from the bundled
        published statistics, decide every person with the rules, and print the monthly totals
        and pathway shares."""
        import numpy as np

        from safethird.law.variants import UnknownVariant, parse_variants
        from safethird.population.rates import decide_population
        from safethird.population.synthesize import population as build

        a, b = _date(start, "--start"), _date(end, "--end")
        try:
            variants = parse_variants(variant)
            people = build(a, b, rng=None if seed is None else np.random.default_rng(seed))
        except (UnknownVariant, LookupError) as exc:
            _fail(str(exc))
            return
        people = decide_population(people, a, b, variants=variants)
        monthly = people.group_by("month").len().sort("month")
        typer.echo(f"{people.height:,} encounters, {a} to {b}")
        for month, n in monthly.iter_rows():
            typer.echo(f"  {month}  {n:>9,}")
        typer.echo("pathways (from the rules):")
        for pathway, n in people.group_by("pathway").len().sort(
                "len", descending=True).iter_rows():
            typer.echo(f"  {pathway:<26} {n:>9,}  {n / people.height:6.1%}")
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            if out.suffix == ".csv":
                people.write_csv(out)
            else:
                people.write_parquet(out)
            typer.echo(f"wrote {out}")

    @app.command()
    def scenarios() -> None:
        """List the bundled scenarios."""
        from safethird.flow.scenario import bundled, load_scenario

        for name in bundled():
            sc = load_scenario(name)
            typer.echo(f"{name:<36} {sc.start} – {sc.end}  {sc.title}")

    @app.command()
    def simulate(
        scenario: Annotated[str, typer.Argument(help="A bundled scenario name or a YAML file.")],
        out: Annotated[Path, typer.Option("--out", help="Output folder.")],
        replications: Annotated[int, typer.Option(min=1)] = 1,
        seed: Annotated[int | None, typer.Option(help="Seed (omit with --deterministic).")
                        ] = 0,
        deterministic: Annotated[bool, typer.Option(help="One run without random draws.")
                                 ] = False,
        dask: Annotated[str | None, typer.Option("--dask", help="Dask scheduler address.")
                        ] = None,
        people: Annotated[str, typer.Option(help="first or all replications in "
                                            "people.parquet")] = "first",
        overwrite: Annotated[bool, typer.Option(
            "--overwrite", help="Replace an --out folder that holds other files.")] = False,
    ) -> None:
        """Simulate a scenario and write summary.json, timeseries.parquet, people.parquet and
        report.html into the --out folder (written in full, or not at all)."""
        from rich.progress import Progress

        from safethird.flow.outputs import RefusedOutput, check_out, write
        from safethird.flow.scenario import ScenarioError, load_scenario
        from safethird.flow.simulate import simulate as run

        if people not in ("first", "all"):
            _fail("--people: first or all")
        try:
            sc = load_scenario(scenario)
            check_out(out, overwrite=overwrite)  # before the run, not after it
        except (ScenarioError, RefusedOutput) as exc:
            _fail(str(exc))
            return
        use_seed = None if deterministic else seed
        total = 1 if use_seed is None else replications
        with Progress(transient=True) as bar:
            task = bar.add_task(f"{sc.name}", total=total)
            result = run(sc, replications, use_seed, people=people, dask=dask,
                         progress=lambda k: bar.advance(task, k))
        paths = write(result, out)
        summ = json.loads(paths["summary"].read_text())
        _print_metrics({sc.name: summ})
        banner = ("PUBLISHED BASELINE" if summ["status"] == "published_baseline" else
                  "COUNTERFACTUAL — not what happened")
        typer.echo(f"{sc.name}: {banner}")
        _print_transfers(summ)
        _print_releases(summ)
        typer.echo("model against published figures:")
        for c in summ["checks"]:
            typer.echo(f"  {c['text']}")
        typer.echo(f"wrote {', '.join(str(p) for p in paths.values())}")

    @app.command()
    def compare(
        a: Annotated[str, typer.Argument(help="Scenario A (name, YAML, or an output folder).")],
        b: Annotated[str, typer.Argument(help="Scenario B.")],
        replications: Annotated[int, typer.Option(min=1)] = 1,
        seed: Annotated[int | None, typer.Option()] = None,
    ) -> None:
        """Print the metrics of two scenarios side by side (deterministic unless --seed)."""
        from safethird.flow.outputs import summary
        from safethird.flow.scenario import ScenarioError, load_scenario
        from safethird.flow.simulate import simulate as run

        out = {}
        for ref in (a, b):
            folder = Path(ref)
            if folder.is_dir() and (folder / "summary.json").exists():
                out[ref] = json.loads((folder / "summary.json").read_text())
                continue
            try:
                sc = load_scenario(ref)
            except ScenarioError as exc:
                _fail(str(exc))
                return
            out[ref] = summary(run(sc, replications, seed))
        _print_compare(out)


def _cell(st: dict | None) -> str:
    if not st or st["mean"] is None:
        return "–"
    if st["p05"] == st["p95"]:
        return f"{st['mean']:,.1f}"
    return f"{st['mean']:,.1f} [{st['p05']:,.0f}–{st['p95']:,.0f}]"


def _print_compare(summaries: dict[str, dict]) -> None:
    """Two scenarios side by side: each one's status, the difference B − A and the ratio
    B / A of the means, and what the intervals are."""
    from rich.console import Console
    from rich.table import Table

    (na, a), (nb, b) = list(summaries.items())[:2]
    status = {"published_baseline": "published baseline", "counterfactual": "counterfactual"}
    for n, s in ((na, a), (nb, b)):
        typer.echo(f"{n}: {status.get(s.get('status', ''), 'unknown status')}, "
                   f"{s['start']} to {s['end']}; intervals: "
                   f"{s.get('intervals', 'one run: no interval')}")
    from rich.markup import escape

    table = Table("metric", "partner", f"A: {na}", f"B: {nb}", "B − A", "B / A",
                  title=escape("mean [p05–p95]; difference and ratio of the means"))
    for metric, by in a["metrics"].items():
        for partner in by:
            sa = a["metrics"].get(metric, {}).get(partner)
            sb = b["metrics"].get(metric, {}).get(partner)
            ca, cb = _cell(sa), _cell(sb)
            if ca == "–" and cb == "–":
                continue
            ma = sa["mean"] if sa else None
            mb = sb["mean"] if sb else None
            diff = f"{mb - ma:+,.1f}" if ma is not None and mb is not None else "–"
            ratio = (f"{mb / ma:,.2f}" if ma and mb is not None else
                     "– (A is 0)" if ma == 0 and mb else "–")
            if ma == 0 and mb == 0:
                continue
            table.add_row(metric, partner, escape(ca), escape(cb), diff, ratio)
    Console(width=160).print(table)
    if a["start"] != b["start"] or a["end"] != b["end"]:
        typer.echo("note: the two scenarios cover different periods; their counts are not "
                   "directly comparable")


def _print_transfers(summ: dict) -> None:
    rows = summ.get("transfers_by_month", [])
    if not rows:
        return
    typer.echo("transferred by month (people; mean over replications):")
    for r in rows:
        fam = r["family_units"]
        typer.echo(f"  {r['month']}  {r['partner']}  {r['transfers']:>7,.0f}  (family_unit "
                   f"{fam:,.0f}, single_adult {r['transfers'] - fam:,.0f})")


def _print_releases(summ: dict) -> None:
    by_month: dict[str, dict[str, float]] = {}
    for r in summ.get("releases", []):
        by_month.setdefault(r["month"], {}).setdefault(r["group"], 0.0)
        by_month[r["month"]][r["group"]] += r["released"]
    if not by_month:
        return
    typer.echo("released into the US by month (people; mean over replications):")
    for month, by in sorted(by_month.items()):
        parts = ", ".join(f"{g} {v:,.0f}" for g, v in sorted(by.items()))
        typer.echo(f"  {month}  {sum(by.values()):>9,.0f}  ({parts})")


def _print_metrics(summaries: dict[str, dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    names = list(summaries)
    from rich.markup import escape

    table = Table("metric", "partner", *names, title=escape("mean [p05–p95]"))
    first = summaries[names[0]]["metrics"]
    for metric, by in first.items():
        for partner in by:
            cells = []
            for n in names:
                st = summaries[n]["metrics"].get(metric, {}).get(partner)
                if not st or st["mean"] is None:
                    cells.append("–")
                elif st["p05"] == st["p95"]:
                    cells.append(f"{st['mean']:,.1f}")
                else:
                    cells.append(f"{st['mean']:,.1f} [{st['p05']:,.0f}–{st['p95']:,.0f}]")
            if any(c != "–" for c in cells):
                table.add_row(metric, partner, *(escape(c) for c in cells))
    Console(width=140).print(table)
