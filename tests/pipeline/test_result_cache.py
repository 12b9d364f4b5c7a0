"""The run's result cache (bayes_anlo/pipeline/result_cache.py, result_codec.py): a second run of
an unchanged spec reads every analysis back and writes the same tables, figures and posterior; any
change to what decides an analysis (its entry, its data file, the seed, the sampler settings)
refits that analysis and only that one; a damaged entry is refitted; a cache others can write is
not used; ``--no-cache`` stores and reads nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from bayes_anlo.pipeline import result_codec
from bayes_anlo.pipeline.result_cache import ResultCache, default_directory
from bayes_anlo.pipeline.run import run_spec
from tests.pipeline.conftest import CSV, SMALL_SPEC, SPEC, TWO_SMALL_SPEC

ROOT = Path(__file__).resolve().parents[2]

#: The shared test spec plus a NUTS fit (few draws), so that a sampled tree (sample_stats with
#: nutpie's object-dtype messages, which the run's posterior.nc leaves out too) is stored as well.
CACHE_SPEC = (
    SPEC
    + """
[[analyses]]
id = "orr_nuts"
title = "Synthetic ORR, logit-normal by NUTS"
outcome = "ORR"
model = "logit_normal"
method = "nuts"
sensitivity = false
sampler = { draws = 150, tune = 150, chains = 2 }
"""
)


def _project(tmp_path: Path, spec: str = CACHE_SPEC) -> Path:
    (tmp_path / "studies.csv").write_text(CSV)
    path = tmp_path / "spec.toml"
    path.write_text(spec)
    return path


def _record(out: Path) -> dict:
    return json.loads((out / "run.json").read_text())["result_cache"]


def _files(out: Path, folder: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / folder).iterdir())}


def _groups(out: Path) -> xr.DataTree:
    return xr.open_datatree(out / "posterior.nc", engine="h5netcdf").load()


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The same spec run twice with one cache: (first run, second run, cache directory)."""
    base = tmp_path_factory.mktemp("cached")
    spec = _project(base)
    cache = base / "cache"
    run_spec(spec, base / "first", log=None, cache_dir=cache)
    run_spec(spec, base / "second", log=None, cache_dir=cache)
    return base / "first", base / "second", cache


@pytest.fixture(scope="module")
def _light_cache(tmp_path_factory):
    """TWO_SMALL_SPEC run once with a cache in ``project``, and a copy of that directory as it was
    then in ``pristine``."""
    base = tmp_path_factory.mktemp("light")
    project = base / "project"
    project.mkdir()
    spec = _project(project, TWO_SMALL_SPEC)
    run_spec(spec, project / "a", log=None, cache_dir=project / "cache")
    assert _record(project / "a")["stored"] == ["orr", "dcr_single"]
    shutil.copytree(project, base / "pristine", symlinks=True)
    return base


@pytest.fixture
def light_project(_light_cache) -> Path:
    """A directory in which TWO_SMALL_SPEC (``spec.toml``, ``studies.csv``) has just been run once,
    into ``a``, with the result cache ``cache``: the module's one such run, its directory restored
    for each test. Always the same directory, because the data file's path is part of the keys."""
    project = _light_cache / "project"
    shutil.rmtree(project)
    shutil.copytree(_light_cache / "pristine", project, symlinks=True)
    return project


def test_the_second_run_reads_every_analysis_back(two_runs):
    first, second, cache = two_runs
    ids = ["orr", "dcr_single", "orr_nuts"]
    assert _record(first)["stored"] == ids and _record(first)["reused"] == []
    assert _record(second)["reused"] == ids and _record(second)["stored"] == []
    assert _record(first)["keys"] == _record(second)["keys"]
    assert _record(second)["directory"] == str(cache)


def test_a_reused_run_writes_the_same_tables_figures_and_posterior(two_runs):
    first, second, _ = two_runs
    assert _files(first, "tables") == _files(second, "tables")
    assert _files(first, "figures") == _files(second, "figures")
    a, b = _groups(first), _groups(second)
    assert sorted(a.children) == sorted(b.children)
    for child in a.children:
        assert a[child].identical(b[child]), child


def test_the_report_says_which_analyses_were_read_back(two_runs):
    first, second, _ = two_runs
    a = (first / "report.md").read_text()
    b = (second / "report.md").read_text()
    assert "Read from the result cache" not in a
    assert b.count("Read from the result cache") == 3
    keys = _record(second)["keys"]
    for key in keys.values():
        assert f"(entry {key[:12]})" in b

    # Apart from those notes and the run's own time stamp and duration, the reports are the same.
    def core(text: str) -> list[str]:
        return [
            line
            for line in text.splitlines()
            if "Read from the result cache" not in line and " run at " not in line
        ]

    assert [x for x in core(a) if x] == [x for x in core(b) if x]


def test_changing_one_analysis_refits_it_alone(light_project):
    spec, cache = light_project / "spec.toml", light_project / "cache"
    spec.write_text(TWO_SMALL_SPEC.replace("thresholds = [0.1, 0.2]", "thresholds = [0.1, 0.3]"))
    run_spec(spec, light_project / "b", log=None, cache_dir=cache)
    record = _record(light_project / "b")
    assert record["reused"] == ["dcr_single"] and record["stored"] == ["orr"]
    exceed = pd.read_csv(light_project / "b" / "tables" / "orr__exceedance.csv")
    assert 0.3 in set(exceed["threshold"].round(6))


def test_changed_data_refit(light_project):
    spec, cache = light_project / "spec.toml", light_project / "cache"
    before = pd.read_csv(light_project / "a" / "tables" / "orr__posterior.csv")
    (light_project / "studies.csv").write_text(CSV.replace("S2,ORR,8,41", "S2,ORR,18,41"))
    run_spec(spec, light_project / "b", log=None, cache_dir=cache)
    # The key holds the bytes of the whole data file: every analysis reading it is refitted.
    assert _record(light_project / "b")["reused"] == []
    after = pd.read_csv(light_project / "b" / "tables" / "orr__posterior.csv")
    assert not before.equals(after)


def test_the_key_changes_with_whatever_decides_the_result(tmp_path):
    from bayes_anlo.models.sampling import SamplerSettings
    from bayes_anlo.pipeline.result_cache import analysis_key
    from bayes_anlo.spec import load_spec

    spec = load_spec(_project(tmp_path, TWO_SMALL_SPEC))
    entry, other = spec.analyses
    sampler = SamplerSettings(**dict(spec.sampler))
    base = {"seed": 11, "index": 0, "sampler": sampler, "fast": False, "figure_formats": ["png"]}
    key = analysis_key(entry, **base)
    assert analysis_key(entry, **base) == key
    changed = [
        analysis_key(other, **base),
        analysis_key(entry, **{**base, "seed": 12}),
        analysis_key(entry, **{**base, "index": 1}),
        analysis_key(
            entry, **{**base, "sampler": SamplerSettings(**{**sampler.__dict__, "draws": 7})}
        ),
        analysis_key(entry, **{**base, "fast": True}),
        analysis_key(entry, **{**base, "figure_formats": ["png", "pdf"]}),
    ]
    assert len({key, *changed}) == 1 + len(changed)


def test_no_cache_stores_and_reads_nothing(tmp_path):
    spec = _project(tmp_path, SMALL_SPEC)
    cache = tmp_path / "cache"
    run_spec(spec, tmp_path / "a", log=None, cache_dir=cache, no_cache=True)
    assert _record(tmp_path / "a") == {"directory": None}
    assert not cache.exists()


def test_a_damaged_entry_is_refitted_and_stored_again(light_project):
    spec, cache = light_project / "spec.toml", light_project / "cache"
    key = _record(light_project / "a")["keys"]["orr"]
    entry = ResultCache(cache).entry(key)
    arrays = entry / "arrays.npz"
    arrays.write_bytes(arrays.read_bytes()[:100])  # truncated
    run_spec(spec, light_project / "b", log=None, cache_dir=cache)
    record = _record(light_project / "b")
    assert record["stored"] == ["orr"] and record["reused"] == ["dcr_single"]
    assert _files(light_project / "a", "tables") == _files(light_project / "b", "tables")
    run_spec(spec, light_project / "c", log=None, cache_dir=cache)
    assert _record(light_project / "c")["reused"] == ["orr", "dcr_single"]


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_a_cache_others_can_write_is_not_used(tmp_path):
    spec = _project(tmp_path, SMALL_SPEC)
    cache = tmp_path / "shared"
    cache.mkdir()
    cache.chmod(0o777)
    lines: list[str] = []
    run_spec(spec, tmp_path / "a", log=lines.append, cache_dir=cache)
    assert _record(tmp_path / "a") == {"directory": None}
    assert any("not used" in line and "chmod go-w" in line for line in lines)
    assert list(cache.iterdir()) == []


def test_the_cache_directory_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("BAYES_ANLO_NO_CACHE", raising=False)
    monkeypatch.setenv("BAYES_ANLO_CACHE_DIR", str(tmp_path / "here"))
    assert default_directory() == tmp_path / "here"
    monkeypatch.delenv("BAYES_ANLO_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_directory() == tmp_path / "xdg" / "bayes_anlo" / "results"
    monkeypatch.setenv("BAYES_ANLO_NO_CACHE", "1")
    assert default_directory() is None


def test_the_key_is_the_same_in_another_process(tmp_path):
    """Keys hash canonical JSON, never ``hash()`` or object ids: a new process finds the entry."""
    spec = _project(tmp_path, SMALL_SPEC)
    code = (
        "import sys; from pathlib import Path\n"
        "from bayes_anlo.spec import load_spec\n"
        "from bayes_anlo.models.sampling import SamplerSettings\n"
        "from bayes_anlo.pipeline.result_cache import analysis_key\n"
        "spec = load_spec(Path(sys.argv[1]))\n"
        "s = SamplerSettings(**dict(spec.sampler))\n"
        "print(analysis_key(spec.analyses[0], seed=spec.seed, index=0, sampler=s, fast=False,"
        " figure_formats=spec.figure_formats))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "random"}
    keys = {
        subprocess.run(
            [sys.executable, "-c", code, str(spec)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout.strip()
        for _ in range(2)
    }
    assert len(keys) == 1 and len(keys.pop()) == 64


def test_the_cli_runs_with_and_without_the_cache(tmp_path):
    spec = _project(tmp_path, SMALL_SPEC)
    env = {k: v for k, v in os.environ.items() if k != "BAYES_ANLO_NO_CACHE"}
    env["PYTHONPATH"] = str(ROOT)
    bin_ = Path(sys.executable).with_name("bayes-anlo")
    cache = tmp_path / "cache"
    logs = {}
    for out, extra in (("a", []), ("b", []), ("c", ["--no-cache"])):
        proc = subprocess.run(
            [str(bin_), "run", str(spec), "--out", str(tmp_path / out), "--cache-dir", str(cache)]
            + extra,
            capture_output=True,
            text=True,
            env=env,
        )
        assert proc.returncode == 0, proc.stderr
        logs[out] = proc.stderr
    assert "read from the result cache" not in logs["a"] + logs["c"]
    assert logs["b"].count("read from the result cache") == 1
    assert _record(tmp_path / "b")["reused"] == ["dcr_single"]
    assert _record(tmp_path / "c") == {"directory": None}


# -- the codec ----------------------------------------------------------------------------------

_cells = st.one_of(
    st.none(),
    st.text(max_size=8),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
)


@settings(max_examples=60, deadline=None)
@given(
    floats=st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=0, max_size=6),
    data=st.data(),
)
def test_tables_read_back_exactly(floats, data):
    k = len(floats)
    frame = pd.DataFrame(
        {
            "x": np.array(floats, dtype=float),
            "n": np.array(
                data.draw(st.lists(st.integers(-(2**62), 2**62), min_size=k, max_size=k)),
                dtype=np.int64,
            ),
            "flag": np.array(
                data.draw(st.lists(st.booleans(), min_size=k, max_size=k)), dtype=bool
            ),
            "label": pd.Series(data.draw(st.lists(_cells, min_size=k, max_size=k)), dtype=object),
        }
    )
    back = result_codec.decode_frame(json.loads(json.dumps(result_codec.encode_frame(frame))))
    assert result_codec.same_frame(frame, back)
    for a, b in zip(frame["label"], back["label"], strict=True):
        assert type(a) is type(b)


def test_a_table_without_an_exact_form_is_refused():
    with pytest.raises(result_codec.CodecError):
        result_codec.encode_frame(pd.DataFrame({"c": pd.Categorical(["a", "b"])}))
    with pytest.raises(result_codec.CodecError):
        result_codec.encode_frame(pd.DataFrame({1: [1.0]}))
    with pytest.raises(result_codec.CodecError):
        result_codec.encode_frame(
            pd.DataFrame({"a": [1]}, index=pd.MultiIndex.from_tuples([(1, 2)]))
        )


def test_a_cache_path_that_is_a_file_is_not_used_and_the_run_goes_on(tmp_path):
    spec = _project(tmp_path, SMALL_SPEC)
    blocker = tmp_path / "cache"
    blocker.write_text("not a directory")
    lines: list[str] = []
    outcome = run_spec(spec, tmp_path / "a", log=lines.append, cache_dir=blocker)
    assert outcome.converged and _record(tmp_path / "a") == {"directory": None}
    assert any(line.startswith(f"result cache {blocker} not used") for line in lines)
    assert blocker.read_text() == "not a directory"


def test_half_written_entries_of_killed_runs_are_removed_once_stale(tmp_path):
    cache = ResultCache.open(tmp_path / "cache")
    fresh = cache.directory / "ab" / ".tmp-fresh"
    stale = cache.directory / "ab" / ".tmp-stale"
    for folder in (fresh, stale):
        folder.mkdir(parents=True)
        (folder / "result.json").write_text("{")
    old = stale.stat().st_mtime - 2 * 3600
    os.utime(stale, (old, old))
    ResultCache.open(tmp_path / "cache", tidy=True)  # every run opens the cache like this
    assert fresh.exists() and not stale.exists()
    assert cache.entries() == []  # neither counts as an entry


def test_the_cache_command_shows_and_clears_the_cache(two_runs, tmp_path):
    _, _, cache = two_runs
    copy = tmp_path / "copy"
    shutil.copytree(cache, copy)
    bin_ = Path(sys.executable).with_name("bayes-anlo")

    def cli(*args):
        return subprocess.run(
            [str(bin_), "cache", *args],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )

    shown = cli("--cache-dir", str(copy))
    assert shown.returncode == 0 and f"{copy}: 3 entries" in shown.stdout
    cleared = cli("--cache-dir", str(copy), "--clear")
    assert cleared.returncode == 0 and "removed 3 entries" in cleared.stdout
    assert ResultCache(copy).entries() == []
    off = cli()  # the suite sets BAYES_ANLO_NO_CACHE
    assert off.returncode == 0 and "off" in off.stdout
    blocker = tmp_path / "file"
    blocker.write_text("x")
    bad = cli("--cache-dir", str(blocker))
    assert bad.returncode == 2 and "is not a directory" in bad.stderr


def test_a_run_read_from_the_cache_loads_no_plotting_sampling_or_stats_stack(two_runs, tmp_path):
    """What keeps a warm run fast: with every analysis read back, matplotlib, scipy.stats, PyMC,
    PyTensor and ArviZ are never imported (they cost seconds to import)."""
    first, _, cache = two_runs
    spec = first.parent / "spec.toml"
    code = (
        "import sys, json\n"
        "from bayes_anlo.pipeline.run import run_spec\n"
        "run_spec(sys.argv[1], sys.argv[2], cache_dir=sys.argv[3], log=None)\n"
        "heavy = ('matplotlib', 'scipy.stats', 'pymc', 'pytensor', 'arviz_base', 'arviz_stats')\n"
        "print(json.dumps([m for m in heavy if m in sys.modules]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(spec), str(tmp_path / "third"), str(cache)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 0, proc.stderr
    assert _record(tmp_path / "third")["reused"] == ["orr", "dcr_single", "orr_nuts"]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


# -- found by trying to break it ------------------------------------------------------------------


def test_clear_touches_nothing_but_the_caches_own_folders(tmp_path):
    home = tmp_path / "home"
    (home / "go" / "pkg").mkdir(parents=True)
    (home / "go" / "pkg" / "mod").write_text("m")
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "photos").mkdir(parents=True)
    (elsewhere / "photos" / "a.jpg").write_text("p")
    (home / "zz").symlink_to(elsewhere)
    lines: list[str] = []
    assert ResultCache.open(home, warn=lines.append) is None  # not empty, no CACHEDIR.TAG
    assert "not a result cache" in lines[0]
    # A real cache with an entry, a stray file, a symlinked shard and a symlinked entry.
    cache = ResultCache.open(tmp_path / "cache")
    assert (cache.directory / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d")
    key = "ab" + "0" * 62
    cache.entry(key).mkdir(parents=True)
    (cache.directory / "ab" / "notes.txt").write_text("keep")
    (cache.directory / "cd").symlink_to(elsewhere)
    (cache.directory / "ab" / ("ab" + "1" * 62)).symlink_to(elsewhere)
    assert cache.entries() == [cache.entry(key)]
    assert cache.clear() == 1
    assert (cache.directory / "ab" / "notes.txt").read_text() == "keep"
    assert (elsewhere / "photos" / "a.jpg").read_text() == "p"
    assert (home / "go" / "pkg" / "mod").read_text() == "m"


def _entry(run: Path, analysis: str) -> Path:
    return ResultCache(_record(run)["directory"]).entry(_record(run)["keys"][analysis])


@pytest.mark.parametrize("damage", ["digit", "figure", "missing figure", "table name"])
def test_an_altered_or_incomplete_entry_is_refitted_and_stored_anew(light_project, damage):
    spec, cache = light_project / "spec.toml", light_project / "cache"
    entry = _entry(light_project / "a", "dcr_single")
    stored = json.loads((entry / "result.json").read_text())
    figure = entry / "figures" / "ppc.png"
    if damage == "digit":  # one number of a table changed, the entry otherwise intact
        text = (entry / "result.json").read_text()
        at = text.index('"tables"')
        at += next(i for i, c in enumerate(text[at:]) if c in "123456789")
        (entry / "result.json").write_text(text[:at] + str(int(text[at]) % 9 + 1) + text[at + 1 :])
    elif damage == "figure":
        figure.write_bytes(b"")
    elif damage == "missing figure":
        figure.unlink()
    else:  # a table name that would write outside the run directory, with a matching digest
        from bayes_anlo.pipeline.result_cache import _canonical, _digest

        tables = stored["result"]["tables"]
        tables["x/../../../pwned"] = tables.pop(next(iter(tables)))
        stored["sha256"]["result"] = _digest(_canonical(stored["result"]))
        (entry / "result.json").write_text(json.dumps(stored))
    run_spec(spec, light_project / "b", log=None, cache_dir=cache)
    # the damaged entry alone is refitted; the other analysis is read back
    record = _record(light_project / "b")
    assert record["reused"] == ["orr"] and record["stored"] == ["dcr_single"]
    assert _files(light_project / "a", "tables") == _files(light_project / "b", "tables")
    assert _files(light_project / "a", "figures") == _files(light_project / "b", "figures")
    assert not list(light_project.parent.rglob("*pwned*"))
    run_spec(spec, light_project / "c", log=None, cache_dir=cache)
    assert _record(light_project / "c")["reused"] == ["orr", "dcr_single"]


def test_package_files_changed_after_import_turn_the_cache_off(light_project, monkeypatch):
    """A ``git pull`` or an edit during a run (or a notebook session): the code on disk may not be
    the code running, so nothing is read or stored under a key made from the files on disk."""
    import bayes_anlo.lazy_import

    # the cache holds both analyses of the spec
    spec, cache = light_project / "spec.toml", light_project / "cache"
    monkeypatch.setattr(bayes_anlo.lazy_import, "PACKAGE_IMPORTED_AT", 0.0)  # every file "newer"
    lines: list[str] = []
    run_spec(spec, light_project / "b", log=lines.append, cache_dir=cache)
    assert _record(light_project / "b") == {"directory": None}
    assert any("changed after this process imported bayes_anlo" in line for line in lines)
