"""The law as encoded, written back out for people: one item of law data, or the rule tree
woven into a document (each clause with its citation, its sub-clauses indented under it)."""

from __future__ import annotations

import yaml

from safethird.law.data import Law
from safethird.logic.expr import Clause, Expr, Quantifier


def render_item(law: Law, item: str) -> str:
    for a in law.agreements:
        if item in (a.id, a.partner):
            return _yaml(a.model_dump(mode="json", by_alias=True, exclude_none=True), law,
                         sources=_sources_of(a.model_dump(mode="json")))
    if item in ("transit-bar", law.transit_bar.id):
        tb = law.transit_bar.model_dump(mode="json", by_alias=True, exclude_none=True)
        return _yaml(tb, law, sources=_sources_of(tb))
    if law.clp is not None and item in ("clp", law.clp.id):
        data = law.clp.model_dump(mode="json", by_alias=True, exclude_none=True)
        return _yaml(data, law, sources=_sources_of(data))
    ne = law.not_encoded
    for m in ne.measures if ne else ():
        if item == m.id:
            data = m.model_dump(mode="json", by_alias=True, exclude_none=True)
            return _yaml(data, law, sources=_sources_of(data))
    if ne is not None and item in ("horizon", "law_reviewed_through"):
        data = ne.horizon.model_dump(mode="json", by_alias=True, exclude_none=True)
        return _yaml(data, law, sources=_sources_of(data))
    if law.visas is not None and item in ("visa-exemptions", law.visas.id):
        data = law.visas.model_dump(mode="json", by_alias=True, exclude_none=True)
        return _yaml(data, law, sources=_sources_of(data))
    if item in law.countries:
        c = law.countries[item]
        data = {"alpha2": c.alpha2, "name": c.name, "sovereign": c.sovereign or None,
                "treaties": {k: {"deposited": t.value, "sources": list(t.sources)}
                             for k, t in c.treaties.items()}, "notes": c.notes or None}
        sources = [s for t in c.treaties.values() for s in t.sources]
        # when its nationals needed no visa to enter the United States (visa-exemptions.yaml)
        visas = [e.model_dump(mode="json", by_alias=True, exclude_none=True)
                 for e in (law.visas.exemptions if law.visas else ()) if item in e.nationalities]
        if visas:
            data["visa_exemptions"] = [{k: v for k, v in e.items() if k != "nationalities"}
                                       for e in visas]
            sources += _sources_of(visas)
        return _yaml(data, law, sources=sources)
    if item in law.sources:
        return _yaml({item: law.sources[item].model_dump(exclude_none=True)}, law, sources=[])
    raise KeyError(item)


def _sources_of(data: object) -> list[str]:
    out: list[str] = []
    if isinstance(data, dict):
        for k, v in data.items():
            if k in ("sources", "operation_sources") and isinstance(v, list):
                out.extend(v)
            else:
                out.extend(_sources_of(v))
    elif isinstance(data, list):
        for v in data:
            out.extend(_sources_of(v))
    return out


def _yaml(data: object, law: Law, sources: list[str]) -> str:
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    cited = list(dict.fromkeys(sources))
    if cited:
        text += "\nsources:\n" + "\n".join(
            f"  {s}: {law.sources[s].title} <{law.sources[s].url}>" if s in law.sources
            else f"  {s}: (unknown source)" for s in cited)
    return text


def render_document(law: Law, item: str) -> str:
    from safethird.decide import rules

    r = rules(None, law)
    names = {"aca": "aca", "transit-bar": "transit_bar", "transit_bar": "transit_bar"}
    if item not in names:
        raise KeyError(item)
    f = r.finding(names[item])
    lines = [f"# {f.citation}", ""]
    lines.append(f"Default: {f.applies.text} [{f.applies.citation}]")
    lines.append("unless, in this order:")
    for i, reason in enumerate(f.reasons, 1):
        lines.append(f"{i}. ({reason.code}) {reason.clause.text}  [{reason.clause.citation}]")
        shown = reason.shows if reason.shows is not None else reason.clause.expr
        lines.extend(_subtree(shown, "     "))
    return "\n".join(lines)


def _subtree(node: Expr, indent: str) -> list[str]:
    out: list[str] = []
    for c in node.children():
        if isinstance(c, Clause):
            out.append(f"{indent}- {c.text}  [{c.citation}]")
            out.extend(_subtree(c.expr, indent + "  "))
        else:
            prefix = indent + ("for each leg of the route: " if isinstance(c, Quantifier) else "")
            sub = _subtree(c, indent)
            if isinstance(c, Quantifier) and sub:
                out.append(prefix.rstrip())
            out.extend(sub)
    return out
