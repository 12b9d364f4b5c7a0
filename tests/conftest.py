"""Test-wide settings: figures are drawn with the non-interactive Agg backend."""

import matplotlib

matplotlib.use("Agg")
