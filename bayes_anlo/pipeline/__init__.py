"""Executing analysis specs: one module per family, plus writing the run directory."""
