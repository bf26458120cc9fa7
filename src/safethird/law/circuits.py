"""US state or territory → federal judicial circuit (28 U.S.C. 41), read from law data."""

from __future__ import annotations

from importlib import resources

from safethird import yamltext


def _load() -> dict[str, str]:
    text = resources.files("safethird.law").joinpath("data/circuits.yaml").read_text("utf-8")
    data = yamltext.load(text)
    return {state: circuit for circuit, states in data["circuits"].items() for state in states}


STATE_CIRCUIT: dict[str, str] = _load()
