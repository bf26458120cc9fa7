"""Realistic synthetic case tables for benchmarks, generated vectorized (NumPy + Polars).

Nationalities, family status and arrival months follow the shape of FY2019–FY2020 Southwest
border encounters (mostly Hondurans, Guatemalans, Salvadorans, Mexicans); routes have 0–7 legs
through the usual transit countries. Some facts are left unknown, as in real intake data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from safethird.facts import COLUMNS, LEG_DTYPE

NATIONALITIES = np.array(["HN", "GT", "SV", "MX", "CU", "NI", "EC", "VE", "BR", "IN", "HT"])
NAT_P = np.array([0.26, 0.27, 0.09, 0.2, 0.04, 0.03, 0.03, 0.02, 0.02, 0.02, 0.02])
TRANSIT = np.array(["GT", "MX", "HN", "NI", "CR", "PA", "CO", "EC", "BZ", "SV"])
STATES = np.array(["TX", "TX", "TX", "NM", "AZ", "CA"])
CLAIMS = np.array(["none", "none", "none", "none", "pending", "denied_final",
                   "denied_not_final", "withdrawn"])


def _unknown(rng: np.random.Generator, n: int, share: float) -> np.ndarray:
    return rng.random(n) < share


def generate(n: int, seed: int = 2019) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    arrival = np.datetime64("2019-06-01") + rng.integers(0, 640, n).astype("timedelta64[D]")
    as_of = arrival + rng.integers(0, 60, n).astype("timedelta64[D]")
    nat = rng.choice(NATIONALITIES, n, p=NAT_P)
    n_legs = np.where(nat == "MX", 0, rng.integers(0, 8, n))
    total = int(n_legs.sum())
    legs = pl.DataFrame({
        "row": np.repeat(np.arange(n), n_legs),
        "country": rng.choice(TRANSIT, total),
        "days": rng.integers(1, 40, total),
        "protection_claim": rng.choice(CLAIMS, total),
        "claim_unknown": _unknown(rng, total, 0.03),
        "arrival": np.repeat(arrival, n_legs),
    })
    # the legs follow each other and the last one ends on the day of arrival
    routes = legs.with_columns(
        after=pl.col("days").reverse().cum_sum().reverse().over("row") - pl.col("days"),
    ).with_columns(
        left=pl.col("arrival").cast(pl.Date) - pl.duration(days=pl.col("after")),
    ).with_columns(
        entered=pl.col("left") - pl.duration(days=pl.col("days")),
        protection_claim=pl.when(pl.col("claim_unknown")).then(None)
        .otherwise(pl.col("protection_claim")),
    ).group_by("row", maintain_order=True).agg(
        pl.struct("country", "entered", "left", "protection_claim").alias("route"))
    family = rng.random(n) < 0.45
    uac = ~family & (rng.random(n) < 0.12)
    frame = pl.DataFrame({
        "row": np.arange(n),
        "id": pl.int_range(0, n, eager=True).cast(pl.String).str.zfill(9),
        "nationalities": pl.Series(nat).reshape((n, 1)).cast(pl.List(pl.String)),
        "last_habitual_residence": nat,
        "birth_date": (np.datetime64("1985-01-01")
                       + rng.integers(0, 12000, n).astype("timedelta64[D]")),
        "unaccompanied_child": uac,
        "family_unit": family,
        "arrival.date": arrival,
        "arrival.border": np.where(rng.random(n) < 0.97, "southern_land", "air"),
        "arrival.place": np.where(rng.random(n) < 0.85, "between_ports", "port_of_entry"),
        "arrival.state": rng.choice(STATES, n),
        "trafficking_victim": rng.random(n) < 0.02,
        "admission_document": np.where(rng.random(n) < 0.97, "none", "valid_visa"),
        "visa_exempt": rng.random(n) < 0.01,
        "fear_claimed": rng.random(n) < 0.7,
        "public_interest_exception": rng.random(n) < 0.005,
        "metered_before_2019_07_16": rng.random(n) < 0.02,
        "as_of": as_of,
        "fear_of_receiving_country.GT": rng.random(n) < 0.1,
    })
    # facts intake left unknown
    blanks = {"trafficking_victim": 0.1, "fear_claimed": 0.05,
              "fear_of_receiving_country.GT": 0.5}
    frame = frame.with_columns(
        pl.when(pl.Series(_unknown(rng, n, share))).then(None).otherwise(pl.col(c)).alias(c)
        for c, share in blanks.items())
    frame = frame.join(routes, on="row", how="left").with_columns(
        pl.col("route").fill_null(pl.lit([], dtype=pl.List(LEG_DTYPE)))).sort("row").drop("row")
    return frame.cast({k: v for k, v in COLUMNS.items() if k in frame.columns})


def write(n: int, path: Path, seed: int = 2019) -> Path:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        generate(n, seed).write_parquet(path, row_group_size=250_000)
    return path
