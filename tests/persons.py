"""People whose facts several test files decide: built once here, varied by each test."""

from __future__ import annotations

from typing import Any

ARRIVAL = {"date": "2019-12-02", "border": "southern_land", "place": "between_ports"}


def honduran_through_guatemala(arrival: dict[str, Any] | None = None,
                               **facts: Any) -> dict[str, Any]:
    """A Honduran adult, alone, who crossed Guatemala then Mexico without asking for protection
    and entered between ports of entry on 2019-12-02, fearing return but not Guatemala. The
    state and sector of arrival stay unknown unless ``arrival`` gives them; ``facts`` replace
    whole facts."""
    return {
        "nationalities": ["HN"], "last_habitual_residence": "HN", "unaccompanied_child": False,
        "family_unit": False, "arrival": ARRIVAL | (arrival or {}),
        "route": [{"country": "GT", "entered": "2019-11-12", "left": "2019-11-22",
                   "protection_claim": "none"},
                  {"country": "MX", "entered": "2019-11-22", "left": "2019-12-02",
                   "protection_claim": "none"}],
        "trafficking_victim": False, "admission_document": "none", "visa_exempt": False,
        "fear_claimed": True, "public_interest_exception": False,
        "metered_before_2019_07_16": False, "fear_of_receiving_country": {"GT": False},
    } | facts
