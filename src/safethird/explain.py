"""Plain-text rendering of a determination, for a lawyer to read against the law."""

from __future__ import annotations

import re
import textwrap
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from safethird.decide import Determination

TITLES = {
    "aca": "Asylum Cooperative Agreements — INA 208(a)(2)(A); 8 CFR 208.30(e)(7)",
    "transit_bar": "Third-country transit bar — 8 CFR 208.13(c)(4)",
    "clp": "Circumvention of Lawful Pathways — 8 CFR 208.33",
}


_NBSP = "\u00a0"


def _wrap(text: str, indent: str) -> str:
    # keep each citation "[8 CFR 208.13(c)(4)(ii)]" on one line, so it can be searched for
    protected = re.sub(r"\[[^\]]*\]", lambda m: m.group(0).replace(" ", _NBSP), text)
    lead = len(protected) - len(protected.lstrip(" "))
    out = textwrap.fill(protected.lstrip(" "), width=100, initial_indent=indent + " " * lead,
                        subsequent_indent=indent + " " * lead + "    ")
    return out.replace(_NBSP, " ")


def render_text(d: Determination) -> str:
    from safethird.decide import PATHWAYS

    lines = [
        f"Case {d.case_id or '(no id)'} — as of {d.as_of.isoformat()}"
        + (f" — variant {', '.join(d.variants)}" if d.variants else ""),
        f"law version {d.law_version} · safethird {d.engine_version}",
        "",
    ]
    for name, f in d.findings.items():
        head = f"{TITLES.get(name, name)}: {f.status.upper().replace('_', ' ')} ({f.reason})"
        if f.partner:
            head += f" → partner {f.partner} ({f.agreement})"
        lines.append(head)
        lines.extend(_wrap(b, "  ") for b in f.because)
        lines.append("")
    lines.append(f"Pathway: {d.pathway} — {PATHWAYS.get(d.pathway, '')}")
    if d.missing_facts:
        lines.append("")
        lines.append("Missing facts (ask first):")
        lines.extend(f"  {i}. {p}" for i, p in enumerate(d.missing_facts, 1))
    if d.counterfactuals:
        lines.append("")
        lines.append("What would change the pathway:")
        for c in d.counterfactuals:
            change = "; ".join(f"{k}: {d.counterfactuals and c.get('from', {}).get(k)!s} → {v}"
                               for k, v in c["change"].items())
            lines.append(f"  - if {change}: {c['pathway']}")
    lines.extend(_not_decided(d))
    return "\n".join(lines)


def _not_decided(d: Determination) -> list[str]:
    """The warnings: measures that may apply and are not encoded, and the law horizon."""
    if not d.warnings:
        return []
    out = ["", "Not decided here:"]
    for w in d.warnings:
        label = w.get("measure") or w["code"]
        out.append(_wrap(f"- {label}: {w['message']} [{'; '.join(w['citations'])}]", "  "))
    out.extend(_uncertain_law(d))
    return out


def _uncertain_law(d: Determination) -> list[str]:
    """Closing note: the partner agreements this answer rests on, and which of their facts
    stay uncertain (less than a primary source, or to verify), with the sources used."""
    from safethird.decide import rules
    from safethird.law.not_encoded import uncertain_law

    aca = d.findings.get("aca")
    partners = [*(aca.partners or []), *(aca.partners_possible or [])] if aca else []
    notes = uncertain_law(rules(d.variants or None).law, partners, d.as_of)
    if not notes:
        return []
    return ["", "Law this answer rests on that stays uncertain (sources in "
                "`safethird law show ID`):", *(_wrap(f"- {n}", "  ") for n in notes)]
