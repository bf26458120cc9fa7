"""Random case facts for property tests: values drawn near the law's own boundaries (change
dates, partners, treaty joiners), with every fact unknown some of the time."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from safethird.facts import AdmissionDocument, Border, Place, ProtectionClaim
from safethird.law.geography import sector_states

KEY_DATES = [dt.date.fromisoformat(d) for d in (
    "2019-07-15", "2019-07-16", "2019-07-24", "2019-08-16", "2019-09-09", "2019-09-11",
    "2019-11-19", "2019-11-20", "2019-12-12", "2020-01-04", "2020-03-16", "2020-05-01",
    "2020-06-30", "2020-12-15", "2021-01-19", "2021-02-06", "2021-02-16",
    # the corrections of December 2026: Al Otro Lado stay, Rio Grande Valley, 85 FR 83597
    "2019-12-20", "2020-01-20", "2020-03-05", "2020-12-23")]
# partners, Mexico, party-to-none countries, late treaty joiners, a territory with unknown status
COUNTRIES = ["GT", "SV", "HN", "MX", "NI", "CU", "IN", "BB", "LC", "GD", "KN", "OM", "PK",
             "TT", "VE", "US", "PR", "BZ", "CO", "EC"]
STATES = ["TX", "NM", "AZ", "CA", "NY", "FL"]


def _maybe(rng: random.Random, value: Any, p_unknown: float = 0.2) -> Any:
    return None if rng.random() < p_unknown else value


def _date_near(rng: random.Random) -> dt.date:
    return rng.choice(KEY_DATES) + dt.timedelta(days=rng.randint(-3, 40))


def random_case(rng: random.Random, i: int = 0) -> dict[str, Any]:
    arrival = _date_near(rng)
    as_of = arrival + dt.timedelta(days=rng.choice([0, 1, 5, 30, 200, 700]))
    legs = []
    day = arrival - dt.timedelta(days=rng.randint(5, 400))
    for _ in range(rng.choice([0, 1, 1, 2, 2, 3, 4])):
        enter = day
        leave = min(arrival, enter + dt.timedelta(days=rng.randint(0, 120)))
        legs.append({
            "country": _maybe(rng, rng.choice(COUNTRIES), 0.1),
            "entered": _maybe(rng, enter, 0.3),
            "left": _maybe(rng, leave, 0.3),
            "protection_claim": _maybe(rng, rng.choice(list(ProtectionClaim)).value, 0.3),
        })
        day = leave
    uac = _maybe(rng, rng.random() < 0.15)
    family = _maybe(rng, False if uac else rng.random() < 0.4)
    border = _maybe(rng, rng.choice(list(Border)).value if rng.random() < 0.3
                    else "southern_land", 0.1)
    state = _maybe(rng, rng.choice(STATES))
    # a sector only where it agrees with the state and border (the schema rejects the rest)
    sectors = [s for s, states in sector_states().items() if state is None or state in states]
    operated = [s for s in ("el_paso", "rio_grande_valley") if s in sectors]
    sector = (rng.choice(operated if operated and rng.random() < 0.6 else sectors)
              if border in (None, "southern_land") and sectors and rng.random() < 0.6
              else None)
    nat_choice = rng.random()
    nationalities = ([] if nat_choice < 0.05 else
                     [rng.choice(["HN", "SV", "GT", "MX"])] if nat_choice < 0.6 else
                     [rng.choice(COUNTRIES)] if nat_choice < 0.9 else
                     rng.sample(COUNTRIES, 2))
    return {
        "id": f"c{i}",
        "nationalities": _maybe(rng, nationalities, 0.1),
        "last_habitual_residence": _maybe(rng, rng.choice(COUNTRIES), 0.3),
        "unaccompanied_child": uac,
        "family_unit": family,
        "arrival": {
            "date": _maybe(rng, arrival, 0.1),
            "border": border,
            "place": _maybe(rng, rng.choice(list(Place)).value),
            "state": state,
            "sector": sector,
        },
        "route": _maybe(rng, legs, 0.1),
        "trafficking_victim": _maybe(rng, rng.random() < 0.1),
        "admission_document": _maybe(rng, rng.choice(list(AdmissionDocument)).value
                                     if rng.random() < 0.3 else "none"),
        "visa_exempt": _maybe(rng, rng.random() < 0.1),
        "fear_claimed": _maybe(rng, rng.random() < 0.8),
        "fear_of_receiving_country": {c: v for c in ("GT", "HN", "SV")
                                      if (v := _maybe(rng, rng.random() < 0.3, 0.5)) is not None},
        "public_interest_exception": _maybe(rng, rng.random() < 0.15),
        "metered_before_2019_07_16": _maybe(rng, rng.random() < 0.1, 0.5),
        "habitual_residence": _maybe(rng, rng.choice(COUNTRIES), 0.4),
        "aca_invoked": _maybe(rng, rng.random() < 0.7, 0.3),
        "as_of": as_of,
    }
