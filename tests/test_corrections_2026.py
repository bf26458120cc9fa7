"""The corrections of December 2026 (issue 8) beyond findings and pathways: what the explanation
says either way about DHS's choice, the open question flagged where it applies, and what
`law check` reports."""

from __future__ import annotations

import subprocess
import sys

from persons import honduran_through_guatemala
from safethird import decide
from safethird.law.check import check
from safethird.law.data import load_law

HONDURAN = honduran_through_guatemala({"state": "TX", "sector": "el_paso"})


def test_unknown_choice_of_dhs_is_explained_both_ways() -> None:
    d = decide(HONDURAN, as_of="2019-12-02")
    assert d.pathway == "undetermined"
    lines = [b for b in d.findings["aca"].because if b.startswith("Either way")]
    assert len(lines) == 1
    assert "if DHS invokes the agreement: aca_transfer" in lines[0]
    assert "credible_fear_barred" in lines[0]
    assert "amenable" in d.findings["aca"].because[-2]


def test_known_choice_of_dhs_has_no_branches() -> None:
    for invoked, pathway in ((True, "aca_transfer"), (False, "credible_fear_barred")):
        d = decide(HONDURAN | {"aca_invoked": invoked}, as_of="2019-12-02")
        assert d.pathway == pathway
        assert not any(b.startswith("Either way") for b in d.findings["aca"].because)


def test_transfer_text_says_unless_the_person_withdraws() -> None:
    from safethird.decide import PATHWAYS

    assert "withdraws the asylum request" in PATHWAYS["aca_transfer"]
    assert "(e)(7)(i)(B)" in PATHWAYS["aca_transfer"]


def _entered(day: str, as_of: str) -> list[str]:
    facts = HONDURAN | {"aca_invoked": True, "arrival": HONDURAN["arrival"] | {"date": day},
                        "route": [{"country": "MX", "entered": "2020-06-01", "left": day,
                                   "protection_claim": "none"}]}
    return decide(facts, as_of=as_of).findings["transit_bar"].because


def test_final_rule_for_entries_during_the_vacatur_is_flagged_only_there() -> None:
    flagged = [b for b in _entered("2020-08-01", "2021-01-25") if b.startswith("Open question")]
    assert len(flagged) == 1 and "vacat" in flagged[0]
    # entered before the vacatur, or decided before the final rule took effect: no flag
    assert not any(b.startswith("Open question") for b in _entered("2020-06-29", "2021-01-25"))
    assert not any(b.startswith("Open question") for b in _entered("2020-08-01", "2020-12-01"))


def test_law_check_passes_and_lists_the_open_question() -> None:
    report = check(load_law())
    assert report.ok, report.errors
    assert any("final-rule-entries-during-vacatur" in w for w in report.warnings)
    out = subprocess.run([sys.executable, "-m", "safethird.cli", "law", "check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "open_questions.final-rule-entries-during-vacatur" in out.stdout + out.stderr
