"""A run draws its figures, writes them and keeps none: no figure registered with pyplot, none
left alive after the run, no "more than 20 figures" warning; publication figures are written in
the formats the spec asks for (PNG only by default)."""

from __future__ import annotations

import gc
import warnings

import matplotlib.figure
import matplotlib.pyplot as plt


def _is_figure(obj) -> bool:
    try:
        return isinstance(obj, matplotlib.figure.Figure)
    except ReferenceError:  # a weak proxy whose object is gone (other tests leave these)
        return False


def live_figures() -> int:
    gc.collect()
    return sum(_is_figure(o) for o in gc.get_objects())


def test_a_run_leaves_no_figure_open_or_alive(spec_path, tmp_path):
    from bayes_anlo.pipeline.run import run_spec

    opened, alive = plt.get_fignums(), live_figures()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # one figure worker: the pool's path (the suite's default under -n draws in the process)
        run_spec(spec_path, tmp_path / "out", log=None, figure_workers=1)
    written = list((tmp_path / "out" / "figures").glob("*.png"))
    assert len(written) >= 8  # the figures were drawn (and written)
    assert plt.get_fignums() == opened
    assert live_figures() == alive
    assert not [w for w in caught if "figures have been opened" in str(w.message)]


def test_publication_figures_are_png_unless_the_spec_asks_for_more(run_dir):
    figures = run_dir / "figures"
    assert (figures / "orr__publication_forest.png").is_file()
    assert not list(figures.glob("*.svg")) and not list(figures.glob("*.pdf"))
    report = (run_dir / "report.md").read_text()
    assert "figures/orr__publication_forest.png" in report and "Also as" not in report
