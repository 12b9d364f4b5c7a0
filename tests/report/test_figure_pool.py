"""Figures drawn by worker processes (report.figure_pool) are the bytes the run would draw itself,
whatever happens to the workers, and no worker outlives the pool."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import bayes_anlo
from bayes_anlo.report import canvas
from bayes_anlo.report.canvas import literal_text, new_figure
from bayes_anlo.report.figure_pool import FigurePool, default_workers


@literal_text
def _figure(seed: int, label: str = "Li 2020 ($$) a_b^c \\d <b>x</b>"):
    rng = np.random.default_rng(seed)
    fig = new_figure(figsize=(4, 3), layout="constrained")
    ax = fig.subplots()
    ax.hist(rng.normal(size=200), bins=20)
    ax.set_title(label)
    ax.set_xlabel(f"figure {seed}")
    return fig


def _drawn(workers: int, n: int = 5, formats=("png",), trim=False) -> dict:
    with FigurePool(workers) as pool:
        for i in range(n):
            pool.submit(f"f{i}", _figure(i), formats, trim)
        return pool.collect()


def test_workers_draw_the_bytes_the_process_draws():
    here = _drawn(0)
    there = _drawn(2)  # two workers share the jobs
    assert list(there) == [f"f{i}" for i in range(5)]
    assert there == here
    assert all(files["png"].startswith(b"\x89PNG") for files in there.values())
    # each figure is its own picture (a pool mixing up keys would fail here)
    assert len({files["png"] for files in there.values()}) == 5


def test_publication_formats_are_drawn_by_the_workers_too():
    drawn = _drawn(1, n=2, formats=("png", "svg", "pdf"), trim=True)
    for files in drawn.values():
        assert set(files) == {"png", "svg", "pdf"}
        assert files["pdf"].startswith(b"%PDF") and b"<svg" in files["svg"]
        assert b"&lt;b&gt;x&lt;/b&gt;" in files["svg"]  # the label is escaped text, not markup
    # PNG is deterministic (PDF and SVG carry a creation date): same bytes as in the process
    assert {k: f["png"] for k, f in drawn.items()} == {
        k: f["png"] for k, f in _drawn(0, n=2, formats=("png", "svg"), trim=True).items()
    }


def test_a_dead_worker_costs_time_not_figures():
    with FigurePool(1) as pool:
        pool.submit("f0", _figure(0), ("png",), False)
        for process in pool._processes:
            process.kill()
        for i in range(1, 4):
            pool.submit(f"f{i}", _figure(i), ("png",), False)
        drawn = pool.collect()
    assert drawn == _drawn(0, n=4)


def test_leaving_on_an_error_kills_the_workers():
    with pytest.raises(KeyboardInterrupt), FigurePool(2) as pool:
        pool.submit("f0", _figure(0), ("png",), False)
        processes = list(pool._processes)
        raise KeyboardInterrupt
    assert len(processes) == 2
    assert all(p.poll() is not None for p in processes)


def test_no_worker_is_started_without_figures_and_none_is_left_after():
    with FigurePool(2) as pool:
        assert pool.collect() == {}
        assert pool._processes == []
    with FigurePool(2) as pool:
        pool.submit("f0", _figure(0), ("png",), False)
        processes = list(pool._processes)
        pool.collect()
    assert processes and all(p.poll() == 0 for p in processes)


@pytest.mark.parametrize(("cpus", "workers"), [(1, 0), (2, 1), (4, 3), (16, 3)])
def test_default_workers_leave_one_cpu_to_the_run(monkeypatch, cpus, workers):
    monkeypatch.delenv("BAYES_ANLO_FIGURE_WORKERS", raising=False)
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(cpus)))
    assert default_workers() == workers


def test_the_environment_sets_the_default(monkeypatch):
    monkeypatch.setenv("BAYES_ANLO_FIGURE_WORKERS", "2")
    assert default_workers() == 2 and FigurePool().workers == 2
    monkeypatch.setenv("BAYES_ANLO_FIGURE_WORKERS", "0")
    assert FigurePool().workers == 0
    monkeypatch.setenv("BAYES_ANLO_FIGURE_WORKERS", "two")
    with pytest.raises(ValueError, match="BAYES_ANLO_FIGURE_WORKERS must be a whole number"):
        default_workers()


def _child_draws_a_figure(args: list[str], cwd=None) -> None:
    """Run ``python ARGS`` with only this package on the path; it must print True and exit 0."""
    root = str(Path(bayes_anlo.__file__).resolve().parents[1])
    done = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": root, "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"


def test_a_script_without_a_main_guard_runs_once(tmp_path):
    """Workers are not started by multiprocessing: they never re-run the caller's script."""
    marker = tmp_path / "runs.txt"
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import numpy as np
            from bayes_anlo.report.canvas import new_figure
            from bayes_anlo.report.figure_pool import FigurePool
            with open({str(marker)!r}, "a") as f:
                f.write("ran\\n")
            fig = new_figure(figsize=(2, 2))
            fig.subplots().plot(np.arange(3))
            with FigurePool(2) as pool:
                pool.submit("f", fig, ("png",), False)
                print(len(pool.collect()["f"]["png"]) > 0)
            """
        )
    )
    _child_draws_a_figure([str(script)])
    assert marker.read_text() == "ran\n"


def test_render_refuses_svg_without_trim():
    fig = _figure(0)
    with pytest.raises(ValueError, match="trim"):
        canvas.render(fig, "svg")


def test_a_figure_that_cannot_be_pickled_is_drawn_by_the_run():
    import matplotlib.ticker

    fig = _figure(1)
    fig.axes[0].xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda x, _: f"<{x}>"))
    with FigurePool(1) as pool:
        pool.submit("lambda", fig, ("png",), False)
        pool.submit("f0", _figure(0), ("png",), False)
        drawn = pool.collect()
    assert drawn["lambda"]["png"].startswith(b"\x89PNG")
    assert drawn["f0"] == _drawn(0, n=1)["f0"]


def test_workers_do_not_import_modules_from_the_current_directory(tmp_path):
    """A matplotlib.py in the directory a run starts from is never imported by a worker."""
    marker = tmp_path / "imported.txt"
    (tmp_path / "matplotlib.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    code = (
        "import numpy as np\n"
        "from bayes_anlo.report.canvas import new_figure\n"
        "from bayes_anlo.report.figure_pool import FigurePool\n"
        "fig = new_figure(figsize=(2, 2)); fig.subplots().plot(np.arange(3))\n"
        "with FigurePool(1) as pool:\n"
        "    pool.submit('f', fig, ('png',), False)\n"
        "    assert pool._processes\n"
        "    print(len(pool.collect()['f']['png']) > 0)\n"
    )
    _child_draws_a_figure(["-P", "-c", code], cwd=tmp_path)  # -P: nor does the parent import it
    assert not marker.exists()


def test_recipes_are_built_and_drawn_by_the_workers_as_figures_are_here():
    """What a run submits: recipes (figure function + arguments), built where they are drawn."""
    with FigurePool(2) as pool:
        for i in range(4):
            pool.submit(
                f"f{i}", canvas.recipe(_figure, i, label=f"study {i} ($x$)"), ("png",), False
            )
        there = pool.collect()
    here = {f"f{i}": canvas.draw(_figure(i, label=f"study {i} ($x$)")) for i in range(4)}
    assert there == here
    assert len({files["png"] for files in there.values()}) == 4


def test_a_recipe_that_cannot_be_pickled_is_built_by_the_run():
    with FigurePool(1) as pool:
        pool.submit("f0", canvas.recipe(lambda: _figure(3)), ("png",), False)
        drawn = pool.collect()
    assert drawn == {"f0": canvas.draw(_figure(3))}


def test_workers_started_before_the_first_figure_draw_the_same_bytes():
    """A run starts its workers before it fits (they load matplotlib meanwhile, and warm up by
    drawing a figure of their own): what they draw afterwards is what the process draws."""
    with FigurePool(1) as pool:
        pool.start()
        pool.start()  # once is enough
        assert len(pool._processes) == 1 and pool._processes[0].poll() is None
        for i in range(2):
            pool.submit(f"f{i}", _figure(i), ("png",), False)
        drawn = pool.collect()
    assert drawn == _drawn(0, n=2)
    with FigurePool(0) as pool:
        pool.start()  # no workers asked: nothing starts
        assert pool._processes == []
