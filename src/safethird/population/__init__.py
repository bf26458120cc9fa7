"""Synthetic populations of border encounters from published statistics (with sources)."""
