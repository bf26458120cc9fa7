"""The rule trees compiled to Python functions, for the engines that evaluate the same rules many
times per case (case splits over unknown facts, counterfactual probes).

The interpreter (``evaluate.Evaluation``) walks the trees with a dictionary cache: about 2 ms per
case for the full rule set. Here the whole node DAG becomes Python source, written and
``exec``-ed once per rule set: every node is a local variable computed at most once per call,
constants are bound or folded, facts are read once by path at the top. The semantics are the
interpreter's to the value (identity tests ``is True`` / ``is False`` as in ``kleene_and`` and
``kleene_or``, so a non-boolean argument counts as neither), and a property test holds the two
equal on every output and every case-level clause.

Two functions per rule set:

- ``outputs(R, A)``, the values of the output nodes: nodes shared by several consumers are
  computed once in children-first order; a node with one consumer is written inside its
  consumer, where ``And``/``Or`` stop at the first settling argument and quantifiers at the
  first settling leg. Measured on the example cases: 15-22 µs, against 22-29 µs for computing
  every node in order, and 25-47 µs for a memo list with one function per shared node (nearly
  all of them are needed by some output, so the calls cost more than the skipped work saves).
- ``trace(R, A)``, every case-level node in order as the interpreter does it, returning also
  each case-level clause's value and each quantifier's per-leg values, which
  :class:`CompiledEvaluation` serves to the explanation code (``Evaluation``'s interface).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from safethird.logic.evaluate import Evaluation, LegValue, Monotone, add_years
from safethird.logic.expr import (
    AddYears,
    And,
    Clause,
    Compare,
    Const,
    Contains,
    Either,
    Expr,
    Fact,
    In,
    IsEmpty,
    IsTrue,
    Lookup,
    Not,
    Or,
    Overlaps,
    Param,
    Quantifier,
)

_KINDS = (Const, Param, Fact, Clause, And, Or, Not, IsTrue, Either, Compare, In, Contains, Overlaps,
          AddYears, IsEmpty, Lookup, Quantifier)
_PY_OPS = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_NOTHING = object()  # no value known at compile time


def _fact_parts(path: str) -> tuple[str, ...]:
    # as read_fact: what follows ``fear_of_receiving_country.`` is one key (a country code)
    if path.startswith("fear_of_receiving_country."):
        return tuple(path.split(".", 1))
    return tuple(path.split("."))


@dataclass(frozen=True)
class _Ref:
    """How generated code reads a node's value: a Python expression, and the value itself when
    it is known at compile time (then no identity test is written against a literal)."""

    code: str
    known: Any = _NOTHING

    @property
    def is_known(self) -> bool:
        return self.known is not _NOTHING


class _Writer:
    """Writes the source of one rule set: the node order, names, constants and both functions."""

    def __init__(self, nodes: Mapping[str, Expr], monotone: bool = False):
        # monotone: "known to be true" read as the value itself (the reading the exact
        # reasoning uses to see what an unknown answer waits on; never an answer)
        self.monotone = monotone
        self.roots = list(nodes.values())
        self.constants: dict[str, Any] = {"_add_years": add_years}
        self._const_names: dict[int, str] = {}
        self.order: list[Expr] = []
        self.index: dict[int, int] = {}
        self.leg_dependent: set[int] = set()
        self.nested: set[int] = set()       # quantifiers inside another quantifier's body
        self.facts: dict[tuple[str, ...], str] = {}
        self.foldable: set[int] = set()     # nodes that read no fact, parameter or route
        self._refs: dict[int, _Ref] = {}
        self._plan()
        for node in self.order:  # every fact is read at the top, before the first node
            if isinstance(node, Fact) and not node.is_leg:
                self.fact(node.path)
        self.clauses = [n for n in self.order
                        if isinstance(n, Clause) and id(n) not in self.leg_dependent]
        self.quantifiers = [n for n in self.order if isinstance(n, Quantifier)]
        # outputs whose value a caller may give (``G``: output index → value), by the node
        # that computes them
        self.givable: dict[int, int] = {}
        for i, root in enumerate(self.roots):
            self.givable.setdefault(id(_resolve(root)), i)

    # --- analysis ------------------------------------------------------------------------

    def _plan(self) -> None:
        """Children-first order of every node; which nodes depend on the current leg (a leg
        fact not under a nested quantifier: as in the interpreter, a nested body is read on its
        own legs, so a quantifier's value never depends on an outer leg)."""
        seen: set[int] = set()
        for root in self.roots:
            stack: list[tuple[Expr, bool]] = [(root, False)]
            while stack:
                node, expanded = stack.pop()
                if expanded:
                    self.index[id(node)] = len(self.order)
                    self.order.append(node)
                    continue
                if id(node) in seen:
                    continue
                if not isinstance(node, _KINDS):
                    raise TypeError(f"cannot compile {type(node).__name__}")
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((c, False) for c in reversed(node.children()) if id(c) not in seen)
        for node in self.order:
            if isinstance(node, Fact):
                if node.is_leg:
                    self.leg_dependent.add(id(node))
            elif not isinstance(node, Quantifier) and any(
                    id(c) in self.leg_dependent for c in node.children()):
                self.leg_dependent.add(id(node))
            if not isinstance(node, Fact | Param | Quantifier) and all(
                    id(c) in self.foldable for c in node.children()):
                self.foldable.add(id(node))
            if isinstance(node, Quantifier):
                self.nested |= {id(n) for n in node.body.walk() if isinstance(n, Quantifier)}
        for root in self.roots:
            if id(root) in self.leg_dependent:
                leg = next(n for n in root.walk() if isinstance(n, Fact) and n.is_leg)
                raise ValueError(f"leg fact {leg.path} outside a quantifier")

    def leg_nodes(self, q: Quantifier) -> list[Expr]:
        """The nodes of a quantifier's body computed per leg, children first."""
        found: dict[int, Expr] = {}
        stack = [q.body]
        while stack:
            n = stack.pop()
            if id(n) in found or id(n) not in self.leg_dependent:
                continue
            found[id(n)] = n
            stack.extend(n.children())
        return sorted(found.values(), key=lambda n: self.index[id(n)])

    # --- names and constants -------------------------------------------------------------

    def constant(self, value: Any) -> str:
        if value is None or isinstance(value, bool | int | str):
            return repr(value)
        if id(value) not in self._const_names:
            name = f"_k{len(self._const_names)}"
            self._const_names[id(value)] = name
            self.constants[name] = value
        return self._const_names[id(value)]

    def fact(self, path: str) -> str:
        parts = _fact_parts(path)
        for k in range(1, len(parts) + 1):
            self.facts.setdefault(parts[:k], f"p{len(self.facts)}")
        return self.facts[parts]

    def fact_lines(self) -> list[str]:
        out = []
        for parts, name in self.facts.items():
            if len(parts) == 1:
                out.append(f"{name} = R.get({parts[0]!r})")
            else:
                up = self.facts[parts[:-1]]
                out.append(f"{name} = {up}.get({parts[-1]!r}) if isinstance({up}, dict) else None")
        return out

    def name(self, node: Expr) -> str:
        i = self.index[id(node)]
        return f"l{i}" if id(node) in self.leg_dependent else f"n{i}"

    # --- expressions ---------------------------------------------------------------------

    def ref(self, node: Expr) -> _Ref:
        found = self._refs.get(id(node))
        if found is None:
            found = self._refs[id(node)] = self._ref(node)
        return found

    def _ref(self, node: Expr) -> _Ref:
        if isinstance(node, Const):
            return _Ref(self.constant(node.value), node.value)
        if isinstance(node, Param):
            return _Ref("A")
        if isinstance(node, Fact) and not node.is_leg:
            return _Ref(self.fact(node.path))
        if isinstance(node, Clause):
            return self.ref(node.expr)
        folded = self._fold(node)
        if folded is not _NOTHING:
            return _Ref(self.constant(folded), folded)
        return _Ref(self.name(node))

    def _fold(self, node: Expr) -> Any:
        """The value of a node that reads no fact, parameter or route, else _NOTHING."""
        if id(node) not in self.foldable:
            return _NOTHING
        try:
            return (Monotone if self.monotone else Evaluation)({}, dt.date.min).value(node)
        except Exception:  # left to fail at run time, as in the interpreter
            return _NOTHING

    def expression(self, node: Expr) -> str | None:
        """Python for a node's value from its children's refs (None: written as statements)."""
        if isinstance(node, Fact):  # a leg fact
            return f"L.get({node.path.removeprefix('route[].')!r})"
        if isinstance(node, And | Or):
            stop, other = (False, True) if isinstance(node, And) else (True, False)
            refs = [self.ref(a) for a in node.args]
            if any(r.is_known and r.known is stop for r in refs):
                return repr(stop)
            unknown_const = any(r.is_known and r.known is None for r in refs)
            live = list(dict.fromkeys(r.code for r in refs if not r.is_known))
            if not live:
                return "None" if unknown_const else repr(other)
            stops = " or ".join(f"{c} is {stop}" for c in live)
            if unknown_const:
                return f"{stop} if {stops} else None"
            nones = " or ".join(f"{c} is None" for c in live)
            return f"{stop} if {stops} else None if {nones} else {other}"
        if isinstance(node, Not):
            a = self.ref(node.arg)
            return f"None if {a.code} is None else not {a.code}"
        if isinstance(node, IsTrue):
            if self.monotone:
                return self.ref(node.arg).code
            return f"{self.ref(node.arg).code} is True"
        if isinstance(node, Either):
            t, f = self.ref(node.true_if), self.ref(node.false_if)
            return f"True if {t.code} is True else False if {f.code} is True else None"
        if isinstance(node, Compare):
            a, b = self.ref(node.left), self.ref(node.right)
            if (a.is_known and a.known is None) or (b.is_known and b.known is None):
                return "None"
            return self._unless_unknown([a, b], f"{a.code} {_PY_OPS[node.op]} {b.code}")
        if isinstance(node, In):
            a = self.ref(node.value)
            return self._unless_unknown([a], f"{a.code} in {self.constant(node.values)}")
        if isinstance(node, Contains):
            xs, x = self.ref(node.items), self.ref(node.item)
            return self._unless_unknown([xs, x], f"{x.code} in {xs.code}")
        if isinstance(node, AddYears):
            d = self.ref(node.date)
            return self._unless_unknown([d], f"_add_years({d.code}, {node.years!r})")
        if isinstance(node, IsEmpty):
            xs = self.ref(node.items)
            return self._unless_unknown([xs], f"len({xs.code}) == 0")
        if isinstance(node, Lookup):
            k = self.ref(node.key)
            return self._unless_unknown([k], f"{self.constant(node.mapping)}.get({k.code})")
        return None

    @staticmethod
    def _unless_unknown(refs: list[_Ref], code: str) -> str:
        if any(r.is_known and r.known is None for r in refs):
            return "None"
        tests = [f"{r.code} is None" for r in refs if not r.is_known]
        return f"None if {' or '.join(tests)} else {code}" if tests else code

    # --- statements ----------------------------------------------------------------------

    def statements(self, node: Expr, indent: str) -> list[str]:
        """The lines that give a node its variable (none for a constant, a case fact or a
        clause, which are read through their refs). Quantifiers: see ``traced_quantifier``
        and ``_Lazy.quantifier``."""
        if isinstance(node, Const | Param | Clause) or (
                isinstance(node, Fact) and not node.is_leg) or self.ref(node).is_known:
            return []
        name = self.name(node)
        if isinstance(node, Overlaps):
            xs = self.ref(node.items)
            fs = self.constant(frozenset(node.values))
            tup = self.constant(tuple(node.values))
            # a set test; an element that cannot be hashed falls back to the interpreter's test
            return [f"{indent}if {xs.code} is None:", f"{indent}    {name} = None",
                    f"{indent}else:",
                    f"{indent}    try:", f"{indent}        {name} = not {fs}.isdisjoint({xs.code})",
                    f"{indent}    except TypeError:",
                    f"{indent}        {name} = any(x in {tup} for x in {xs.code})"]
        code = self.expression(node)
        if code is None:
            raise TypeError(f"cannot compile {type(node).__name__}")
        return [f"{indent}{name} = {code}"]

    def traced_quantifier(self, q: Quantifier, indent: str) -> list[str]:
        """Every leg read (no stop at a settling one): its value goes into the list ``qI``."""
        name, i = self.name(q), self.index[id(q)]
        body = self.ref(q.body)
        settle, other = (True, False) if q.kind == "any" else (False, True)
        inner = indent + "        "
        lines = [f"{indent}q{i} = []", f"{indent}if route is None:", f"{indent}    {name} = None",
                 f"{indent}else:", f"{indent}    {name} = {other}",
                 f"{indent}    for L in route:"]
        for n in self.leg_nodes(q):
            lines += self.statements(n, inner)
        lines.append(f"{inner}q{i}.append({body.code})")
        if body.is_known:  # a body that reads no leg fact: the same on every leg
            if body.known is settle or body.known is None:
                lines.append(f"{inner}{name} = {body.code}")
            return lines
        # after a settling leg an unknown one changes nothing
        return [*lines, f"{inner}if {body.code} is {settle}:", f"{inner}    {name} = {settle}",
                f"{inner}elif {body.code} is None and {name} is not {settle}:",
                f"{inner}    {name} = None"]

    def trace_function(self) -> list[str]:
        """``trace(R, A)``: every case-level node in order (the interpreter's own order of work:
        it computes every argument), giving outputs, clause values and quantifier legs."""
        body = self._every_node(given=False)
        outputs = _tuple(self.ref(r).code for r in self.roots)
        clauses = _tuple(self.ref(c).code for c in self.clauses)
        legs = _tuple(f"({self.ref(q).code}, q{self.index[id(q)]})" for q in self.quantifiers)
        head = ["def trace(R, A):", "    route = R.get('route')",
                *("    " + line for line in self.fact_lines())]
        return [*head, *body, f"    return {outputs}, {clauses}, {legs}"]

    def everything_function(self) -> list[str]:
        """``everything(R, A, G)``: the value of every case-level node (in ``case_nodes``
        order), outputs given in ``G`` taking the value given, and each quantifier's legs."""
        body = self._every_node(given=True)
        values = _tuple(self.ref(n).code for n in self.case_nodes)
        legs = _tuple(f"q{self.index[id(q)]}" for q in self.quantifiers)
        head = ["def everything(R, A, G=None):", "    route = R.get('route')",
                *("    " + line for line in self.fact_lines())]
        return [*head, *body, f"    return {values}, {legs}"]

    # --- sensitivity: which facts could change each node, changed alone -------------------

    def fact_bits(self) -> dict[str, int]:
        """A bit per fact pattern the rules read (``route[].left`` one for every leg), and one
        for the route itself."""
        bits: dict[str, int] = {"route": 1}
        for node in self.order:
            if isinstance(node, Fact):
                bits.setdefault(node.path, 1 << len(bits))
        return bits

    def mask_ref(self, node: Expr, bits: Mapping[str, int]) -> str:
        node = _resolve(node)
        if isinstance(node, Const | Param) or self.ref(node).is_known:
            return "0"
        folded = self._mask_consts.get(id(node))
        if folded is not None:
            return str(folded)
        if isinstance(node, Fact):
            return str(bits[node.path])
        if isinstance(node, Quantifier):  # every fact its body reads, on any leg
            mask = bits["route"]
            for n in node.body.walk():
                if isinstance(n, Fact):
                    mask |= bits[n.path]
            return str(mask)
        return f"m{self.index[id(node)]}"

    def mask_line(self, node: Expr, bits: Mapping[str, int], every: int) -> list[str]:
        """``mI``: the facts whose change alone could change node I's value (an
        over-approximation; a fact outside it cannot). A conjunction that is false stays false
        while one false argument does: only a fact in every false argument's set can change
        it; otherwise (true, or unknown) any argument's facts can. Dually for a disjunction."""
        node = _resolve(node)
        if isinstance(node, Const | Param | Fact | Quantifier) or self.ref(node).is_known \
                or id(node) in self.leg_dependent:
            return []
        name, value = f"m{self.index[id(node)]}", self.ref(node).code
        children = list(dict.fromkeys((self.ref(c).code, self.mask_ref(c, bits))
                                      for c in node.children()))
        union = " | ".join(m for _, m in children) or "0"
        if all(m.isdigit() for _, m in children) and (
                not isinstance(node, And | Or) or all(m == "0" for _, m in children)):
            # a comparison of facts (or of folded sets): the same set in every case
            folded = 0
            for _, m in children:
                folded |= int(m)
            self._mask_consts[id(node)] = folded
            return []
        if isinstance(node, And | Or):
            stop = isinstance(node, Or)  # what settles it: false for a conjunction
            meet = " & ".join(f"({m} if {v} is {stop} else {every})" for v, m in children)
            return [f"    {name} = ({meet}) if {value} is {stop} else ({union})"]
        return [f"    {name} = {union}"]

    def sensitivity_function(self) -> list[str]:
        """``sensitivity(R, A)``: every case-level node's value and fact set (``mask_line``),
        in ``case_nodes`` order."""
        bits = self.fact_bits()
        every = (1 << len(bits)) - 1
        self._mask_consts: dict[int, int] = {}
        body = self._every_node(given=False, then=lambda n: self.mask_line(n, bits, every))
        values = _tuple(self.ref(n).code for n in self.case_nodes)
        masks = _tuple(self.mask_ref(r, bits) for r in self.roots)  # the outputs' only
        legs = _tuple(f"({self.ref(q).code}, q{self.index[id(q)]})" for q in self.quantifiers)
        head = ["def sensitivity(R, A):", "    route = R.get('route')",
                *("    " + line for line in self.fact_lines())]
        return [*head, *body, f"    return {values}, {masks}, {legs}"]

    # --- one fact changed: only the nodes that read it, the others as they were ------------

    def read_masks(self, bits: Mapping[str, int]) -> dict[int, int]:
        """id(node) → the bits of every fact under it (a quantifier reads the route too)."""
        masks: dict[int, int] = {}
        for node in self.order:  # children first
            if isinstance(node, Fact):
                m = bits[node.path]
            else:
                m = bits["route"] if isinstance(node, Quantifier) else 0
                for c in node.children():
                    m |= masks[id(c)]
            masks[id(node)] = m
        return masks

    def changed_function(self, bit: int, masks: Mapping[int, int]) -> list[str]:
        """``changed(R, A, V)``: the outputs of a case that differs from one whose case-level
        values are ``V`` (``everything``'s, in ``case_nodes`` order) in the facts of ``bit``
        only: the nodes that read them are computed again, every other one is read from V."""
        case_index = {id(n): i for i, n in enumerate(self.case_nodes)}
        again = [n for n in self.case_nodes if masks[id(n)] & bit]
        redo = {id(n) for n in again}
        needed: dict[int, Expr] = {}
        for node in again:
            reads = [c for n in self.leg_nodes(node) for c in n.children()] + [node.body] \
                if isinstance(node, Quantifier) else list(node.children())
            for c in reads:
                c = _resolve(c)
                if id(c) in case_index and id(c) not in redo and self.ref(c).code.startswith("n"):
                    needed[id(c)] = c
        body = [f"    {self.ref(c).code} = V[{case_index[id(c)]}]" for c in needed.values()]
        for node in again:
            body += self.traced_quantifier(node, "    ") if isinstance(node, Quantifier) \
                else self.statements(node, "    ")
        for root in self.roots:  # an output that is not computed again is as it was
            r = _resolve(root)
            if id(r) in case_index and id(r) not in redo and id(r) not in needed and \
                    self.ref(r).code.startswith("n"):
                body.append(f"    {self.ref(r).code} = V[{case_index[id(r)]}]")
                needed[id(r)] = r
        head = ["def changed(R, A, V):", "    route = R.get('route')",
                *("    " + line for line in self.fact_lines())]
        return [*head, *body, f"    return {_tuple(self.ref(r).code for r in self.roots)}"]

    def _every_node(self, given: bool, then: Any = None) -> list[str]:
        """Every case-level node computed in order (no short cut); ``given``: an output named
        in ``G`` takes the value given; ``then(node)``: lines written after each node's."""
        body: list[str] = []
        for node in self.order:
            if id(node) in self.leg_dependent:
                continue
            body += self.traced_quantifier(node, "    ") if isinstance(node, Quantifier) \
                else self.statements(node, "    ")
            if then is not None:
                body += then(node)
            key = self.givable.get(id(node)) if given else None
            if key is not None and not self.ref(node).is_known and not isinstance(
                    node, Const | Param | Fact | Clause):
                body += [f"    if G is not None and {key} in G:",
                         f"        {self.ref(node).code} = G[{key}]"]
        return body

    @property
    def case_nodes(self) -> list[Expr]:
        return [n for n in self.order if id(n) not in self.leg_dependent]


class _Lazy:
    """The ``outputs`` function. A node read by several consumers is computed once, in order,
    children first (measured: for the real rule set nearly all of them are needed by one output
    or another, and a memo test plus a call per node cost more than computing them). A node
    with a single consumer is written inline in its consumer's code, where ``And``/``Or`` stop
    at the first settling argument (a false / true one): the subtrees behind it never run."""

    DEEPEST = 60  # nested levels before a subtree is computed on its own (Python allows 100)

    def __init__(self, w: _Writer):
        self.w = w
        uses: dict[int, int] = {}
        for node in w.order:
            if id(node) in w.leg_dependent or self.trivial(node) or isinstance(node, Clause):
                continue
            for c in self.reads(node):
                uses[id(c)] = uses.get(id(c), 0) + 1
        for root in w.roots:
            uses[id(_resolve(root))] = uses.get(id(_resolve(root)), 0) + 1
        self.shared = {k for k, n in uses.items() if n > 1}
        self.too_deep: set[int] = set()

    def trivial(self, node: Expr) -> bool:
        node = _resolve(node)
        return isinstance(node, Const | Param) or (isinstance(node, Fact) and not node.is_leg) \
            or self.w.ref(node).is_known

    def reads(self, node: Expr) -> list[Expr]:
        """The non-trivial case-level nodes a node's code reads (through clauses); for a
        quantifier, those its body reads on the legs (once each, before its loop)."""
        w = self.w
        found = [c for n in w.leg_nodes(node) for c in n.children()] + [node.body] \
            if isinstance(node, Quantifier) else list(node.children())
        rs = [r for c in found
              if id(r := _resolve(c)) not in w.leg_dependent and not self.trivial(r)]
        return list({id(r): r for r in rs}.values()) if isinstance(node, Quantifier) else rs

    def value(self, node: Expr, indent: str, own: bool = False) -> list[str]:
        """Lines after which the node's value is in its ref (``self.w.ref(node).code``);
        ``own``: the node's own computation, not a read of a shared node computed before."""
        node = _resolve(node)
        if self.trivial(node) or (id(node) in self.shared and not own):
            return []
        if len(indent) > 4 * self.DEEPEST:
            self.too_deep.add(id(node))
            return []
        if isinstance(node, And | Or):
            lines = self.junction(node, indent)
        elif isinstance(node, Quantifier):
            lines = self.quantifier(node, indent)
        else:
            lines = [line for c in node.children() for line in self.value(c, indent)]
            lines += self.w.statements(node, indent)
        key = self.w.givable.get(id(node))
        if key is not None:  # a value known by other means (held in every world) wins
            ref = self.w.ref(node).code
            lines += [f"{indent}if G is not None and {key} in G:", f"{indent}    {ref} = G[{key}]"]
        return lines

    def junction(self, node: And | Or, indent: str) -> list[str]:
        w = self.w
        name = w.name(node)
        stop, other = (False, True) if isinstance(node, And) else (True, False)
        refs = [w.ref(a) for a in node.args]
        if any(r.is_known and r.known is stop for r in refs):
            return [f"{indent}{name} = {stop}"]
        if all(self.trivial(a) or id(_resolve(a)) in self.shared for a in node.args):
            # every argument is at hand already: one expression, nothing to skip
            return [f"{indent}{name} = {w.expression(node)}"]
        start = "None" if any(r.is_known and r.known is None for r in refs) else repr(other)
        lines = [f"{indent}{name} = {start}"]
        done: set[str] = set()
        for arg, r in zip(node.args, refs, strict=True):
            if r.is_known or r.code in done:
                continue
            inner = indent + "    " if done else indent  # after the first: unless settled
            if done:
                lines.append(f"{indent}if {name} is not {stop}:")
            done.add(r.code)
            lines += self.value(arg, inner)
            lines += [f"{inner}if {r.code} is {stop}:", f"{inner}    {name} = {stop}",
                      f"{inner}elif {r.code} is None:", f"{inner}    {name} = None"]
        return lines

    def quantifier(self, q: Quantifier, indent: str) -> list[str]:
        w = self.w
        name = w.name(q)
        body = w.ref(q.body)
        settle, other = (True, False) if q.kind == "any" else (False, True)
        i1, i2, i3 = indent + "    ", indent + "        ", indent + "            "
        lines = [f"{indent}if route is None:", f"{i1}{name} = None", f"{indent}else:",
                 f"{i1}{name} = {other}", f"{i1}if route:"]
        for r in self.reads(q):
            lines += self.value(r, i2)
        lines.append(f"{i2}for L in route:")
        for n in w.leg_nodes(q):
            lines += w.statements(n, i3)
        if body.is_known:
            if body.known is settle or body.known is None:
                lines.append(f"{i3}{name} = {body.code}")
            lines.append(f"{i3}break")
            return lines
        return [*lines, f"{i3}if {body.code} is {settle}:", f"{i3}    {name} = {settle}",
                f"{i3}    break", f"{i3}elif {body.code} is None:", f"{i3}    {name} = None"]

    def function(self) -> list[str]:
        w = self.w
        while True:  # a subtree nested too deep is computed on its own, and written again
            body = [line for node in w.order if id(node) in self.shared
                    for line in self.value(node, "    ", own=True)]
            body += [line for root in w.roots for line in self.value(root, "    ")]
            if not self.too_deep:
                break
            self.shared |= self.too_deep
            self.too_deep = set()
        head = ["def outputs(R, A, G=None):", "    route = R.get('route')",
                *("    " + line for line in w.fact_lines())]
        return [*head, *body, f"    return {_tuple(w.ref(r).code for r in w.roots)}"]


def _resolve(node: Expr) -> Expr:
    while isinstance(node, Clause):
        node = node.expr
    return node


def _tuple(items: Iterable[str]) -> str:
    return "(" + "".join(f"{x}, " for x in items) + ")"


class CompiledEvaluation:
    """Drop-in for ``Evaluation`` as decide.py uses it: the compiled values of outputs and
    case-level clauses; the interpreter (created on first need, given those values) for any
    other node or any leg-level value."""

    __slots__ = ("_fallback", "_legs", "_program", "_quantifiers", "_values", "as_of", "record")

    def __init__(self, program: Program, record: dict[str, Any], as_of: dt.date,
                 values: tuple, legs: tuple):
        self.record = record
        self.as_of = as_of
        self._program = program
        self._values = values
        self._legs = legs
        self._quantifiers: dict[int, LegValue] | None = None
        self._fallback: Evaluation | None = None

    @property
    def route(self) -> list[dict[str, Any]] | None:
        return self.record.get("route")

    @property
    def outputs(self) -> dict[str, Any]:
        """The output values by name (what ``decide._values`` makes of an ``Evaluation``)."""
        names = self._program.names
        return dict(zip(names, self._values[:len(names)], strict=True))

    @property
    def quantifiers(self) -> dict[int, LegValue]:
        """id(quantifier) → its value and per-leg values, for the quantifiers the interpreter
        would have evaluated (a nested one only when there is a leg to read it on)."""
        if self._quantifiers is None:
            p = self._program
            has_legs = bool(self.route)
            self._quantifiers = {
                id(q): LegValue(v, list(legs))
                for q, (v, legs) in zip(p._quantifier_nodes, self._legs, strict=True)
                if has_legs or id(q) not in p._nested}
        return self._quantifiers

    def value(self, node: Expr, leg: int | None = None) -> Any:
        if leg is None:
            i = self._program._value_index.get(id(node))
            if i is not None:
                return self._values[i]
        if self._fallback is None:
            ev = self._fallback = Evaluation(self.record, self.as_of)
            # what is known already: the interpreter does not walk those subtrees again
            for key, i in self._program._value_index.items():
                ev._cache[(key, None)] = self._values[i]
            ev.quantifiers.update(self.quantifiers)
        return self._fallback.value(node, leg)


class WaitsOn:
    """Every case-level node's value in the monotone reading, and the quantifiers' legs: what
    the exact reasoning reads to find the facts an unknown answer waits on."""

    __slots__ = ("_legs", "_program", "_values", "as_of", "record")

    def __init__(self, program: Program, record: dict[str, Any], as_of: dt.date,
                 values: tuple, legs: tuple):
        self.record, self.as_of = record, as_of
        self._program, self._values, self._legs = program, values, legs

    @property
    def route(self) -> list[dict[str, Any]] | None:
        return self.record.get("route")

    def value(self, node: Expr, leg: int | None = None) -> Any:
        i = self._program._case_index.get(id(_resolve(node))) if leg is None else None
        if i is None:
            raise KeyError("not a case-level node of this program")
        return self._values[i]

    def legs_of(self, q: Quantifier) -> list[Any]:
        return self._legs[self._program._quantifier_index[id(q)]]


class Analysed:
    """A case evaluated once by ``Program.analyse``: every case-level value, the outputs'
    sensitivity sets and the quantifiers' legs."""

    __slots__ = ("_legs", "_masks", "_program", "as_of", "record", "values")

    def __init__(self, program: Program, record: dict[str, Any], as_of: dt.date,
                 values: tuple, masks: tuple, legs: tuple):
        self._program, self.record, self.as_of = program, record, as_of
        self.values, self._masks, self._legs = values, masks, legs

    def outputs(self) -> dict[str, Any]:
        """The output values by name (``Program.values``)."""
        v = self.values
        return {name: v[i] for name, i in self._program._output_case_index}

    def evaluation(self) -> CompiledEvaluation:
        p, v = self._program, self.values
        own = tuple(v[i] for _, i in p._output_case_index) + tuple(
            v[i] for i in p._clause_case_index)
        return CompiledEvaluation(p, self.record, self.as_of, own, self._legs)

    def sensitivity(self, names: Iterable[str]) -> dict[str, tuple[Any, int]]:
        p, v = self._program, self.values
        index = dict(p._output_case_index)
        return {name: (v[index[name]], self._masks[p._name_index[name]]) for name in names}


class Program:
    """A compiled rule set: ``outputs(record, as_of)`` and ``evaluation(record, as_of)``."""

    def __init__(self, nodes: Mapping[str, Expr], monotone: bool = False):
        self.names: tuple[str, ...] = tuple(nodes)
        self._nodes = dict(nodes)  # held: the ids below stay those of these nodes
        w = _Writer(nodes, monotone)
        lines = ["# generated by safethird.logic.compile: one rule set, do not edit", ""]
        lines += [*_Lazy(w).function(), "", *w.trace_function(), "",
                  *w.everything_function()]
        if not monotone:
            lines += ["", *w.sensitivity_function()]
        self.fact_bits = w.fact_bits()
        self.source = "\n".join(lines) + "\n"
        namespace: dict[str, Any] = dict(w.constants)
        exec(compile(self.source, f"<safethird rules {len(self.names)} outputs>", "exec"),
             namespace)
        self._outputs = namespace["outputs"]
        self._trace = namespace["trace"]
        self._everything = namespace["everything"]
        self._sensitivity = namespace.get("sensitivity")
        self._namespace = namespace
        self._writer = w  # kept: a function per changed fact is written on first need
        self._changed: dict[int, Any] = {}
        self._read_masks: dict[int, int] | None = None
        self._case_index = {id(n): i for i, n in enumerate(w.case_nodes)}
        self._quantifier_index = {id(q): i for i, q in enumerate(w.quantifiers)}
        keyed = [*self._nodes.values(), *w.clauses]
        # outputs first, then clauses; a node that is both has one index (its output's)
        self._value_index: dict[int, int] = {}
        for i, n in enumerate(keyed):
            self._value_index.setdefault(id(n), i)
        self._quantifier_nodes = tuple(w.quantifiers)
        self._name_index = {name: i for i, name in enumerate(self.names)}
        # where each output and each case-level clause sits among the case-level values
        self._output_case_index = tuple((name, self._case_index[id(root)])
                                        for name, root in zip(self.names, w.roots, strict=True))
        self._clause_case_index = tuple(self._case_index[id(c)] for c in w.clauses)
        self._nested = frozenset(w.nested)

    def outputs(self, record: dict[str, Any], as_of: dt.date,
                given: Mapping[str, Any] | None = None) -> tuple:
        """The value of each output node, in ``names`` order; ``given`` outputs (by name) take
        the value given, and every node that reads them sees it."""
        if not given:
            return self._outputs(record, as_of)
        index = self._name_index
        return self._outputs(record, as_of, {index[k]: v for k, v in given.items()})

    def values(self, record: dict[str, Any], as_of: dt.date,
               given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The outputs by name (what ``decide._values`` returns)."""
        return dict(zip(self.names, self.outputs(record, as_of, given), strict=True))

    def waits_on(self, record: dict[str, Any], as_of: dt.date,
                 given: Mapping[str, Any] | None = None) -> WaitsOn:
        g = {self._name_index[k]: v for k, v in given.items()} if given else None
        values, legs = self._everything(record, as_of, g)
        return WaitsOn(self, record, as_of, values, legs)

    def base(self, record: dict[str, Any], as_of: dt.date) -> tuple:
        """Every case-level value of a case, for ``changed``."""
        return self._everything(record, as_of)[0]

    def changed(self, record: dict[str, Any], as_of: dt.date, base: tuple,
                facts: Iterable[str]) -> tuple:
        """The outputs (``names`` order) of ``record``, which differs from the case whose
        ``base`` this is only in ``facts`` (patterns: ``route[].left``): only the nodes that
        read them are computed again."""
        bit = 0
        for f in facts:
            bit |= self.fact_bits.get(f, 0)
        fn = self._changed.get(bit)
        if fn is None:
            w = self._writer
            if self._read_masks is None:
                self._read_masks = w.read_masks(self.fact_bits)
            source = "\n".join(w.changed_function(bit, self._read_masks)) + "\n"
            for name, value in w.constants.items():  # any bound while it was written
                self._namespace.setdefault(name, value)
            exec(compile(source, f"<safethird rules changed {bit:#x}>", "exec"),
                 self._namespace)
            fn = self._changed[bit] = self._namespace.pop("changed")
        return fn(record, as_of, base)

    def analyse(self, record: dict[str, Any], as_of: dt.date) -> Analysed:
        """One pass that gives a case's outputs, its evaluation with the clause trace, and
        each output's sensitivity (what ``outputs``, ``evaluation`` and ``sensitivity`` give,
        computed once)."""
        values, masks, legs = self._sensitivity(record, as_of)
        return Analysed(self, record, as_of, values, masks, legs)

    def sensitivity(self, record: dict[str, Any], as_of: dt.date, names: Iterable[str]
                    ) -> tuple[dict[str, tuple[Any, int]], tuple]:
        """For the output nodes ``names``: (Kleene value, the bits of ``fact_bits`` whose
        fact, changed alone, could change it; a fact without its bit cannot); and every
        case-level value (the ``base`` of ``changed``)."""
        a = self.analyse(record, as_of)
        return a.sensitivity(names), a.values

    def evaluation(self, record: dict[str, Any], as_of: dt.date) -> CompiledEvaluation:
        outputs, clauses, legs = self._trace(record, as_of)
        return CompiledEvaluation(self, record, as_of, outputs + clauses, legs)


_PROGRAMS: dict[tuple[bool, tuple[tuple[str, int], ...]], Program] = {}


def compile_rules(nodes: Mapping[str, Expr], monotone: bool = False) -> Program:
    """The program of a rule set, compiled once per set of output nodes (a program holds its
    nodes, so the ids in the key cannot be reused while it is cached). ``monotone``: the
    reading in which "known to be true" is the value itself (for ``waits_on`` only)."""
    key = (monotone, tuple((name, id(node)) for name, node in nodes.items()))
    if key not in _PROGRAMS:
        _PROGRAMS[key] = Program(nodes, monotone)
    return _PROGRAMS[key]
