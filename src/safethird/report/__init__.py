"""Plots and self-contained HTML reports of simulation runs."""
