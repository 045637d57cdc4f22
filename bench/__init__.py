"""Benchmarks: scripts that print figures for the README (run them directly)."""
