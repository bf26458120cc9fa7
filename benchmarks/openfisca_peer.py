"""The same transit-bar and agreement rules written idiomatically in OpenFisca (the peer).

Run as a script: reads the cases Parquet file, prepares the route-derived inputs with Polars (as
an OpenFisca user would: OpenFisca has no lists per person), computes the variables, writes
`id, transit_bar_applies, aca_applies` to the output Parquet file. Benchmark-only code.
"""

from __future__ import annotations

import datetime as dt
import sys

import numpy as np
import polars as pl
from openfisca_core.entities import build_entity
from openfisca_core.periods import DAY
from openfisca_core.simulations import SimulationBuilder
from openfisca_core.taxbenefitsystems import TaxBenefitSystem
from openfisca_core.variables import Variable

from safethird.law.data import load_law

Person = build_entity(key="person", plural="persons", label="An asylum seeker", is_person=True)


def d(s: str) -> np.datetime64:
    return np.datetime64(s)


def _input(name: str, value_type: type, reference: str) -> type[Variable]:
    # OpenFisca reads a variable's attributes from its own class body, not from a base class
    return type(name, (Variable,), {"value_type": value_type, "reference": reference,
                                    "entity": Person, "definition_period": DAY,
                                    "default_value": False if value_type is bool else
                                    dt.date(1970, 1, 1)})


INPUTS = {
    "arrival_date": (dt.date, "8 CFR 208.13(c)(4)"),
    "as_of": (dt.date, "decision date"),
    "southern_land_border": (bool, "8 CFR 208.13(c)(4)"),
    "arrival_in_ninth_circuit": (bool, "28 U.S.C. 41"),
    "metered_non_mexican": (bool, "Al Otro Lado v. McAleenan"),
    "transited_third_country": (bool, "8 CFR 208.13(c)(4)"),
    "finally_denied_in_third_country": (bool, "8 CFR 208.13(c)(4)(i)"),
    "trafficking_victim": (bool, "8 CFR 208.13(c)(4)(ii)"),
    "only_nonparty_transit_ifr": (bool, "8 CFR 208.13(c)(4)(iii)"),
    "only_nonparty_transit_final": (bool, "8 CFR 208.13(c)(4)(iii)"),
    "national_of_guatemala": (bool, "8 CFR 208.30(e)(7)(iii)(A)"),
    "national_of_honduras_or_el_salvador": (bool, "operation"),
    "unaccompanied_child": (bool, "INA 208(a)(2)(E)"),
    "family_unit": (bool, "operation"),
    "admission_document": (bool, "agreement exceptions"),
    "arrival_in_texas_or_new_mexico": (bool, "operation"),
    "public_interest": (bool, "8 CFR 208.30(e)(7)(iii)(B)"),
    "fear_of_guatemala": (bool, "8 CFR 208.30(e)(7)(ii)"),
}
INPUT_VARIABLES = [_input(n, t, ref) for n, (t, ref) in INPUTS.items()]


class transit_bar_in_force(Variable):
    value_type = bool
    entity = Person
    definition_period = DAY
    reference = "84 FR 33829; CAIR Coalition v. Trump; 85 FR 82260; East Bay v. Barr"

    def formula(person, period, parameters):
        day = person("as_of", period)
        ifr = (day >= d("2019-07-16")) & (day < d("2020-06-30"))
        final = (day >= d("2021-01-19"))
        nationwide = ((day >= d("2019-07-24")) & (day < d("2019-08-16"))) | (
            (day >= d("2019-09-09")) & (day < d("2019-09-11"))) | (day >= d("2021-02-16"))
        ninth = (day >= d("2019-08-16")) & (day < d("2019-09-09")) & person(
            "arrival_in_ninth_circuit", period)
        # the Al Otro Lado order was made against the interim rule only
        metered = (day >= d("2019-11-19")) & ifr & person("metered_non_mexican", period)
        return (ifr | final) & ~nationwide & ~ninth & ~metered


class transit_bar_applies(Variable):
    value_type = bool
    entity = Person
    definition_period = DAY
    reference = "8 CFR 208.13(c)(4)"

    def formula(person, period, parameters):
        day = person("as_of", period)
        ifr = day < d("2020-06-30")
        exception_iii = np.where(ifr, person("only_nonparty_transit_ifr", period),
                                 person("only_nonparty_transit_final", period))
        return (person("transit_bar_in_force", period)
                & (person("arrival_date", period) >= d("2019-07-16"))
                & person("southern_land_border", period)
                & person("transited_third_country", period)
                & ~person("finally_denied_in_third_country", period)
                & ~person("trafficking_victim", period)
                & ~exception_iii)


class aca_applies(Variable):
    value_type = bool
    entity = Person
    definition_period = DAY
    reference = "INA 208(a)(2)(A); 8 CFR 208.30(e)(7)"

    def formula(person, period, parameters):
        day = person("as_of", period)
        arrived = person("arrival_date", period)
        operating = (arrived >= d("2019-11-19")) & (day >= d("2019-11-20")) & (
            day < d("2020-03-16"))
        families = day >= d("2019-12-12")
        in_scope = person("national_of_honduras_or_el_salvador", period) & person(
            "arrival_in_texas_or_new_mexico", period) & (
            families | ~person("family_unit", period))
        return (operating & ~person("national_of_guatemala", period)
                & ~person("unaccompanied_child", period)
                & ~person("admission_document", period) & in_scope
                & ~person("public_interest", period) & ~person("fear_of_guatemala", period))


def system() -> TaxBenefitSystem:
    tbs = TaxBenefitSystem([Person])
    for v in [*INPUT_VARIABLES, transit_bar_in_force, transit_bar_applies, aca_applies]:
        tbs.add_variable(v)
    return tbs


def prepare(frame: pl.DataFrame) -> pl.DataFrame:
    """Route-derived inputs, with Polars (legs → one boolean per person)."""
    law = load_law()
    e3, _ = {}, {}
    for c in law.countries:
        e3[c] = law.party_window(c, ["refugee_convention", "refugee_protocol",
                                     "torture_convention"])[0]
        _[c] = law.party_window(c, ["refugee_convention", "refugee_protocol"])[0]
    legs = frame.select("id", "nationalities", "last_habitual_residence", "arrival.date",
                        "route").explode("route").unnest("route")
    third = ~pl.col("nationalities").list.contains(pl.col("country")) & (
        pl.col("country") != pl.col("last_habitual_residence"))
    legs = legs.with_columns(
        third=third.fill_null(False),
        nonparty_ifr=(pl.col("left") < pl.col("country").replace_strict(
            e3, default=None, return_dtype=pl.Date)).fill_null(False),
        nonparty_final=(pl.col("left") < pl.col("country").replace_strict(
            _, default=None, return_dtype=pl.Date)).fill_null(False))
    per_person = legs.group_by("id", maintain_order=True).agg(
        transited_third_country=pl.col("third").any(),
        finally_denied_in_third_country=(pl.col("third") & (
            pl.col("protection_claim") == "denied_final")).any(),
        only_nonparty_transit_ifr=(~pl.col("third") | pl.col("nonparty_ifr")).all(),
        only_nonparty_transit_final=(~pl.col("third") | pl.col("nonparty_final")).all())
    nat = pl.col("nationalities")
    return frame.select(
        "id",
        arrival_date=pl.col("arrival.date"), as_of=pl.col("as_of"),
        southern_land_border=pl.col("arrival.border") == "southern_land",
        arrival_in_ninth_circuit=pl.col("arrival.state").is_in(["CA", "AZ"]),
        metered_non_mexican=pl.col("metered_before_2019_07_16") & ~nat.list.contains("MX"),
        trafficking_victim=pl.col("trafficking_victim"),
        national_of_guatemala=nat.list.contains("GT"),
        national_of_honduras_or_el_salvador=nat.list.contains("HN") | nat.list.contains("SV"),
        unaccompanied_child=pl.col("unaccompanied_child"),
        family_unit=pl.col("family_unit"),
        admission_document=pl.col("admission_document").is_in(
            ["valid_visa", "other_valid_admission_document"]) | pl.col("visa_exempt"),
        arrival_in_texas_or_new_mexico=pl.col("arrival.state").is_in(["TX", "NM"]),
        public_interest=pl.col("public_interest_exception"),
        fear_of_guatemala=pl.col("fear_of_receiving_country.GT"),
    ).join(per_person, on="id", how="left", maintain_order="left").fill_null(False)


def run(inp: str, out: str) -> None:
    frame = pl.read_parquet(inp)
    inputs = prepare(frame)
    tbs = system()
    sim = SimulationBuilder().build_default_simulation(tbs, count=inputs.height)
    period = "2020-01-01"  # OpenFisca reads inputs at one period; the dates are per row
    for name in INPUTS:
        values = inputs[name].to_numpy()
        if INPUTS[name][0] is dt.date:
            values = values.astype("datetime64[D]")
        sim.set_input(name, period, values)
    pl.DataFrame({
        "id": inputs["id"],
        "transit_bar_applies": sim.calculate("transit_bar_applies", period),
        "aca_applies": sim.calculate("aca_applies", period),
    }).write_parquet(out)


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2])
