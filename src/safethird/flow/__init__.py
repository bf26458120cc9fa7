"""The flow of people through screening, detention, transfer flights and the partner's asylum
office: exact FIFO queues, scenarios as YAML, Monte Carlo (docs/simulation.md)."""

from safethird.flow.scenario import Scenario, ScenarioError, bundled, load_scenario
from safethird.flow.simulate import METRICS, RunResult, simulate

__all__ = ["METRICS", "RunResult", "Scenario", "ScenarioError", "bundled", "load_scenario",
           "simulate"]
