"""Benchmarks: one command prints every figure and ratio of the performance section of README.md.

    .venv/bin/python benchmarks/run.py            # everything (about 10-15 minutes on 2 cores)
    .venv/bin/python benchmarks/run.py --quick    # smaller sizes, for a smoke test
    .venv/bin/python benchmarks/run.py --only exact,refit

Each case runs in a fresh Python process (so compile caches and peak memory are its own) and
prints one JSON line; this driver collects them and prints a table with the targets:

1. ``run``: ``bayes-anlo run models/sarcoma_meta_analysis.toml``, medians of ``--run-repeat``
   runs (default 5) cold (each with empty PyTensor/Numba compile caches and an empty result
   cache of its own), warm (after one run filled them: every analysis read from the result
   cache) and refit (warm compile caches, ``BAYES_ANLO_NO_CACHE=1``: every analysis fitted
   again), wall and CPU seconds, and the NUTS models the run compiled;
2. ``exact`` vs ``nuts``: the beta-binomial on 16 studies by quadrature and by NUTS;
3. ``refit``: a refit on new data reusing the compiled model, against a fresh build + compile;
   ``compile``: CPU seconds of one NUTS compilation, the model packed as the compile cache does
   (one data vector) and as built (each data container its own variable);
4. ``survival``: piecewise-exponential collapse + fit for 1e3, 1e5, 1e6 patients, peak memory;
5. ``brms``: the same logit-normal model in R brms (cold: compile + sample; warm: reuse), when
   ``Rscript`` with brms is installed (Debian ``r-cran-brms``); skipped with a message otherwise;
6. ``sbc``: simulation-based calibration of 200 datasets (beta-binomial), wall time and memory;
7. ``rates``: ``bayes-anlo rates examples/my_studies.csv --outcome ORR`` as a whole process (wall
   and CPU), beside ``Rscript benchmarks/metafor_rates.R`` doing the same five fits with metafor,
   in the same run (the two alternated ``--repeat`` times; median and best); the R side is
   skipped with a message when ``Rscript`` or metafor is missing; then where the time of one
   ``rates`` process goes (interpreter, imports, first call, a second call) and which heavy
   modules it loads;
8. ``figures``: build and save time of every figure of the meta spec (``benchmarks/figures.py``);
9. ``suite``: the default test-suite time, quoted from the last measurement recorded in
   ``benchmarks/suite_time.json`` (running the suite here would take minutes).

The targets of issue 13 are printed beside the figures: ``run`` of the meta spec warm < 8 s and
cold < 20 s, ``rates`` < 1 s and faster than R, the test suite 3 to 4 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


# ---------------------------------------------------------------------------------------------
# cases (run inside a child process; each returns a dict of figures)
# ---------------------------------------------------------------------------------------------


def _studies(k: int, seed: int = 1):
    import numpy as np
    import pandas as pd

    from bayes_anlo import load_binary

    rng = np.random.default_rng(seed)
    n = rng.integers(20, 120, size=k)
    p = rng.beta(0.15 * 20, 0.85 * 20, size=k)
    events = rng.binomial(n, p)
    return load_binary(
        pd.DataFrame(
            {
                "study": [f"S{i + 1:02d}" for i in range(k)],
                "outcome": "ORR",
                "events": events,
                "n": n,
            }
        )
    )


def case_exact(quick: bool) -> dict:
    from bayes_anlo.models import BetaBinomial

    data = _studies(16)
    model = BetaBinomial(method="exact")
    model.fit(data, random_seed=0)  # warm imports and caches
    reps = 5 if quick else 20
    t = time.perf_counter()
    for i in range(reps):
        model.fit(data, random_seed=i)
    fit_s = (time.perf_counter() - t) / reps
    out = {"exact_fit_seconds": fit_s}
    if hasattr(model, "exact_posterior"):
        t = time.perf_counter()
        for _ in range(reps):
            model.exact_posterior(data)
        out["exact_quadrature_seconds"] = (time.perf_counter() - t) / reps
    return out


def case_nuts(quick: bool) -> dict:
    import warnings

    from bayes_anlo.models import BetaBinomial
    from bayes_anlo.models.sampling import SamplerSettings

    data = _studies(16)
    model = BetaBinomial(sampler=SamplerSettings(draws=1000, tune=1000, chains=4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        model.fit(data, random_seed=1)
        first = time.perf_counter() - t
        t = time.perf_counter()
        model.fit(data, random_seed=2)
        second = time.perf_counter() - t
    return {"nuts_first_fit_seconds": first, "nuts_second_fit_seconds": second}


def case_refit(quick: bool) -> dict:
    """A refit on new data reusing the compiled model against the first fit (build + compile)."""
    import warnings

    from bayes_anlo.models import BetaBinomial
    from bayes_anlo.models.sampling import SamplerSettings

    model = BetaBinomial(sampler=SamplerSettings(draws=1000, tune=1000, chains=4))
    a, b, c = _studies(16, seed=1), _studies(16, seed=2), _studies(16, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        model.fit(a, random_seed=1)  # builds and compiles (cached by structure)
        fresh = time.perf_counter() - t
        t = time.perf_counter()
        model.fit(b, random_seed=2)  # same structure, new data: swaps n and events
        model.fit(c, random_seed=3)
        reused = (time.perf_counter() - t) / 2
    return {"fresh_build_seconds": fresh, "reused_refit_seconds": reused}


def case_compile(quick: bool) -> dict:
    """CPU seconds of one nutpie compilation of a new structure, after the process's first
    (which also pays numba's start-up), for the beta-binomial and the logit-normal on 6 to 10
    studies: packed as the compile cache does (the containers read from one vector), and the
    same models compiled as they are built (each ``pm.Data`` container its own shared variable)."""
    import warnings

    import nutpie

    from bayes_anlo.models import BetaBinomial, LogitNormal
    from bayes_anlo.models.compile_cache import pack_data
    from bayes_anlo.models.sampling import compile_settings

    sizes = range(6, 8) if quick else range(6, 11)
    built = [fam().build(_studies(k)) for fam in (BetaBinomial, LogitNormal) for k in sizes]

    def cpu_per_model(prepare) -> float:
        with warnings.catch_warnings(), compile_settings():
            warnings.simplefilter("ignore")
            nutpie.compile_pymc_model(prepare(BetaBinomial().build(_studies(5))))  # start-up
            t = time.process_time()
            for model in built:
                nutpie.compile_pymc_model(prepare(model))
        return (time.process_time() - t) / len(built)

    packed = cpu_per_model(lambda model: pack_data(model)[0])
    unpacked = cpu_per_model(lambda model: model)
    return {"packed_cpu_seconds": packed, "unpacked_cpu_seconds": unpacked, "models": len(built)}


def case_survival(quick: bool, n_patients: int) -> dict:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from survival_scaling import measure  # written beside this file

    return measure(n_patients)


def case_sbc(quick: bool) -> dict:
    """SBC of the beta-binomial by NUTS (compiled once, data swapped per dataset), via the
    documented command scripts/run_sbc.py, writing to a temporary directory."""
    n = 20 if quick else 200
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        proc = subprocess.run(
            [
                PY,
                str(ROOT / "scripts" / "run_sbc.py"),
                "--only",
                "beta_binomial_nuts",
                "--datasets",
                str(n),
                "--workers",
                "2",
                "--out",
                tmp,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - t
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "sbc_datasets": n,
        "sbc_seconds": seconds,
        "sbc_exit": proc.returncode,
        "sbc_children_peak_rss_mb": children,
    }


def case_run(quick: bool) -> dict:
    """One `bayes-anlo run` of the meta spec, timed from the shell's point of view: wall
    seconds, and CPU seconds (user + system of the process and its children, less disturbed
    than wall time when the machine is shared)."""
    out = Path(tempfile.mkdtemp()) / "run"
    cmd = [
        str(Path(PY).with_name("bayes-anlo")),
        "run",
        str(ROOT / "models" / "sarcoma_meta_analysis.toml"),
        "--out",
        str(out),
        "--allow-unconverged",
    ]
    if quick:
        cmd.append("--fast")
    timed = _timed_process(cmd)
    nuts = reused = None
    if (out / "run.json").exists():
        record = json.loads((out / "run.json").read_text())
        nuts = record.get("nuts_compilations")
        reused = len(record.get("result_cache", {}).get("reused", []))
    shutil.rmtree(out.parent, ignore_errors=True)
    return {
        "run_seconds": timed["wall"],
        "run_cpu_seconds": timed["cpu"],
        "exit_status": timed["exit"],
        "nuts_compilations": nuts,
        "reused": reused,
    }


def run_cold_and_warm(quick: bool, repeat: int) -> dict:
    """Medians over ``repeat`` runs of the meta spec: cold (each with empty PyTensor and Numba
    compile caches and an empty result cache of its own), warm (after one run has filled them:
    every analysis is read from the result cache) and refit (warm compile caches, result cache
    off: every analysis fitted again)."""
    import statistics

    def spawn_with_cache(cache: str, results: bool = True) -> dict:
        env = {
            "PYTENSOR_FLAGS": f"compiledir={cache}/pytensor",
            "NUMBA_CACHE_DIR": f"{cache}/numba",
            "BAYES_ANLO_CACHE_DIR": f"{cache}/results",
            "BAYES_ANLO_NO_CACHE": "0" if results else "1",
        }
        return spawn("run", quick, env=env)

    cold, warm, refit = [], [], []
    for _ in range(repeat):
        cache = tempfile.mkdtemp(prefix="bench-cache-")
        cold.append(spawn_with_cache(cache))
        shutil.rmtree(cache, ignore_errors=True)
    cache = tempfile.mkdtemp(prefix="bench-cache-")
    spawn_with_cache(cache)  # fills the caches
    for _ in range(repeat):
        warm.append(spawn_with_cache(cache))
        refit.append(spawn_with_cache(cache, results=False))
    shutil.rmtree(cache, ignore_errors=True)

    def median(runs: list[dict], key: str) -> float | None:
        values = [r[key] for r in runs if r.get(key) is not None]
        return statistics.median(values) if values else None

    return {
        "cold_seconds": median(cold, "run_seconds"),
        "cold_cpu_seconds": median(cold, "run_cpu_seconds"),
        "warm_seconds": median(warm, "run_seconds"),
        "warm_cpu_seconds": median(warm, "run_cpu_seconds"),
        "refit_seconds": median(refit, "run_seconds"),
        "refit_cpu_seconds": median(refit, "run_cpu_seconds"),
        "warm_reused": max((r.get("reused") or 0) for r in warm) if warm else None,
        "exit_status": max((r.get("exit_status", 1) for r in cold + warm), default=1),
        "nuts_compilations": max((r.get("nuts_compilations") or 0) for r in cold + warm),
        "errors": [r["error"][-300:] for r in cold + warm if "error" in r],
    }


def _timed_process(cmd: list[str], cwd: Path = ROOT) -> dict:
    """Wall and CPU seconds (user + system) of one process run to completion."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=cwd)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "exit": proc.returncode, "stderr": proc.stderr[-400:]}


def rates_vs_metafor(repeat: int) -> dict:
    """``bayes-anlo rates`` and Rscript + metafor on the same file, alternated ``repeat`` times:
    median and best (the machine may be shared: the best run is the least disturbed one)."""
    data = ROOT / "examples" / "my_studies.csv"
    ours_cmd = [str(Path(PY).with_name("bayes-anlo")), "rates", str(data), "--outcome", "ORR"]
    r_cmd = ["Rscript", str(ROOT / "benchmarks" / "metafor_rates.R"), str(data), "ORR"]
    have_r = shutil.which("Rscript") is not None
    if have_r:
        probe = subprocess.run(
            ["Rscript", "-e", "library(metafor)"], capture_output=True, text=True, check=False
        )
        have_r = probe.returncode == 0
    ours, theirs = [], []
    for _ in range(repeat):
        ours.append(_timed_process(ours_cmd))
        if have_r:
            theirs.append(_timed_process(r_cmd))
    out = {**_spread("rates", ours)}
    if theirs:
        out.update(_spread("metafor", theirs))
    else:
        out["metafor_skipped"] = "Rscript with metafor not found (apt-get install r-cran-metafor)"
    return out


def _spread(name: str, runs: list[dict]) -> dict:
    """Median and best wall and CPU seconds of repeated runs, and the worst exit status."""
    import statistics

    return {
        f"{name}_wall": statistics.median(r["wall"] for r in runs),
        f"{name}_wall_best": min(r["wall"] for r in runs),
        f"{name}_cpu": statistics.median(r["cpu"] for r in runs),
        f"{name}_exit": max(r["exit"] for r in runs),
    }


def case_rates(quick: bool) -> dict:
    """Where one ``rates`` process spends its time: the command-line layer (click),
    the first call (the loader's pandas, scipy.special, the frequentist and exact modules, then
    the computation) and a second call in the same process (computation only)."""
    t0 = time.perf_counter()
    import bayes_anlo.cli  # noqa: F401

    t1 = time.perf_counter()
    from bayes_anlo.quick import quick_rates

    data = ROOT / "examples" / "my_studies.csv"
    quick_rates(data, outcome="ORR")
    t2 = time.perf_counter()
    quick_rates(data, outcome="ORR")
    t3 = time.perf_counter()
    return {"cli_import": t1 - t0, "first_call": t2 - t1, "second_call": t3 - t2}


def rates_imports() -> list[str]:
    """Heavy modules that the ``rates`` command path loads (PyMC is bound lazily: it may be in
    ``sys.modules`` but its code never runs). scipy.stats is there while frequentist/glmm.py
    imports it."""
    code = (
        "import bayes_anlo.cli, bayes_anlo.quick as q\n"
        "from bayes_anlo.lazy_import import is_loaded\n"
        "q.quick_rates('examples/my_studies.csv', outcome='ORR')\n"
        "heavy = ('pymc', 'pytensor', 'arviz_base', 'arviz_stats', 'matplotlib', 'numba',\n"
        "         'xarray', 'scipy.stats', 'scipy.optimize', 'bayes_anlo.models.registry')\n"
        "print(' '.join(m for m in heavy if is_loaded(m)))"
    )
    proc = subprocess.run([PY, "-c", code], capture_output=True, text=True, check=False, cwd=ROOT)
    return proc.stdout.split() if proc.returncode == 0 else ["error: " + proc.stderr[-200:]]


def figures(quick: bool) -> dict:
    proc = subprocess.run(
        [PY, str(ROOT / "benchmarks" / "figures.py"), "--repeat", "1" if quick else "3"],
        capture_output=True,
        text=True,
        check=False,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return {"error": proc.stderr[-600:]}


def suite_time() -> dict:
    path = ROOT / "benchmarks" / "suite_time.json"
    if not path.exists():
        return {"error": f"no measurement recorded in {path.name}"}
    return json.loads(path.read_text())


CASES = {
    "exact": case_exact,
    "nuts": case_nuts,
    "refit": case_refit,
    "compile": case_compile,
    "sbc": case_sbc,
    "run": case_run,
    "rates": case_rates,
}


def child(name: str, quick: bool, arg: str | None) -> None:
    if name == "survival":
        figures = case_survival(quick, int(arg))
    else:
        figures = CASES[name](quick)
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(figures))


# ---------------------------------------------------------------------------------------------
# driver
# ---------------------------------------------------------------------------------------------


def spawn(name: str, quick: bool, arg: str | None = None, env: dict | None = None) -> dict:
    cmd = (
        [PY, __file__, "--child", name]
        + (["--quick"] if quick else [])
        + (["--arg", arg] if arg else [])
    )
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env={**os.environ, **(env or {})}, check=False
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return {"error": (proc.stderr or proc.stdout)[-600:]}


def brms(quick: bool) -> dict:
    if shutil.which("Rscript") is None:
        return {"skipped": "Rscript not found (apt-get install r-base-core r-cran-brms)"}
    check = subprocess.run(
        ["Rscript", "-e", "library(brms)"], capture_output=True, text=True, check=False
    )
    if check.returncode != 0:
        return {"skipped": "R package brms not installed (apt-get install r-cran-brms)"}
    import pandas as pd

    sys.path.insert(0, str(ROOT))
    from bayes_anlo import datasets

    data = (
        datasets.load("sarcoma_literature_abstracts")
        .select(outcome="ORR")
        .table[["study", "events", "n"]]
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "orr.csv"
        pd.DataFrame(data).to_csv(path, index=False)
        proc = subprocess.run(
            ["Rscript", str(ROOT / "benchmarks" / "brms_logit_normal.R"), str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            return json.loads(line)
    return {"error": proc.stderr[-600:]}


def ours_logit_normal_warm() -> dict:
    """Our warm logit-normal NUTS fit of the same data brms fits (second fit in one process)."""
    code = """
import time, warnings, json
from bayes_anlo import datasets
from bayes_anlo.models import LogitNormal
d = datasets.load("sarcoma_literature_abstracts").select(outcome="ORR")
m = LogitNormal()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    t = time.perf_counter(); m.fit(d, random_seed=1); cold = time.perf_counter() - t
    t = time.perf_counter(); m.fit(d, random_seed=2); warm = time.perf_counter() - t
print("RESULT " + json.dumps({"cold_seconds": cold, "warm_seconds": warm}))
"""
    proc = subprocess.run([PY, "-c", code], capture_output=True, text=True, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return {"error": proc.stderr[-600:]}


def fmt(x, unit="s") -> str:
    if x is None:
        return "n/a"
    if unit == "s":
        return f"{x * 1000:.1f} ms" if x < 1 else f"{x:.2f} s"
    return f"{x:.0f} {unit}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--only", default="run,rates,figures,suite,exact,refit,compile,survival,brms,sbc"
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs of rates and of Rscript")
    parser.add_argument(
        "--run-repeat", type=int, default=5, help="cold and warm runs of the meta spec (medians)"
    )
    parser.add_argument("--child")
    parser.add_argument("--arg")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.quick, args.arg)
        return 0
    only = set(args.only.split(","))
    rows: list[tuple[str, str, str]] = []

    def row(name, value, target=""):
        rows.append((name, value, target))
        print(f"  {name:<58} {value:<22} {target}", flush=True)

    print(f"bayes_anlo benchmarks ({'quick' if args.quick else 'full'}), {os.cpu_count()} cores\n")
    if "run" in only:
        rn = run_cold_and_warm(args.quick, args.run_repeat)
        n = args.run_repeat
        row(
            f"(1) bayes-anlo run meta spec, cold (empty caches), median of {n}",
            fmt(rn["cold_seconds"]),
            "target < 20 s",
        )
        row(
            f"(1) bayes-anlo run meta spec, warm (result cache), median of {n}",
            fmt(rn["warm_seconds"]),
            "target < 8 s",
        )
        row("(1) ... analyses read from the result cache (warm)", str(rn["warm_reused"]))
        row(
            f"(1) bayes-anlo run meta spec, --no-cache refit, median of {n}",
            fmt(rn["refit_seconds"]),
        )
        row(
            "(1) ... CPU (user + system), cold / warm / refit",
            f"{fmt(rn['cold_cpu_seconds'])} / {fmt(rn['warm_cpu_seconds'])} / "
            f"{fmt(rn['refit_cpu_seconds'])}",
        )
        if rn["cold_seconds"] and rn["warm_seconds"]:
            row("(1) cold / warm", f"{rn['cold_seconds'] / rn['warm_seconds']:.2f}x")
        row("(1) NUTS models compiled by the run", str(rn["nuts_compilations"]), "target 0")
        if rn["exit_status"] != 0 or rn["errors"]:
            row("(1) run failed", f"exit {rn['exit_status']}: {' | '.join(rn['errors'])[-200:]}")
    if "rates" in only:
        rt = rates_vs_metafor(args.repeat)
        r_wall = fmt(rt["metafor_wall"]) if "metafor_wall" in rt else rt["metafor_skipped"]
        row(
            f"(7) rates, 8 studies, wall (median of {args.repeat}) | R",
            f"{fmt(rt['rates_wall'])} | {r_wall}",
            "target < 1 s and < R",
        )
        if "metafor_wall" in rt:
            row(
                "(7) rates | R: best wall",
                f"{fmt(rt['rates_wall_best'])} | {fmt(rt['metafor_wall_best'])}",
            )
            row(
                "(7) rates | R: CPU (user + system)",
                f"{fmt(rt['rates_cpu'])} | {fmt(rt['metafor_cpu'])}",
            )
            row(
                "(7) rates / R metafor (wall, medians)",
                f"{rt['rates_wall'] / rt['metafor_wall']:.2f}",
                "target < 1",
            )
        if rt["rates_exit"] or rt.get("metafor_exit"):
            row("(7) exit status rates | R", f"{rt['rates_exit']} | {rt.get('metafor_exit')}")
        parts = spawn("rates", args.quick)
        if "error" in parts:
            row("(7) rates time breakdown", "error: " + parts["error"][-200:])
        else:
            row(
                "(7) rates in-process: cli import / 1st call / 2nd call",
                " / ".join(fmt(parts[k]) for k in ("cli_import", "first_call", "second_call")),
            )
        heavy = rates_imports()
        row("(7) heavy modules imported by rates", ", ".join(heavy) or "none", "target: none")
    if "figures" in only:
        fg = figures(args.quick)
        if "error" in fg:
            row("(8) figures of the meta spec", "error: " + fg["error"][-200:])
        else:
            for r in fg["figures"]:
                row(
                    f"(8) figure {r['figure']}: build / save",
                    f"{fmt(r['build_seconds'])} / {fmt(r['save_seconds'])}",
                )
            row("(8) all figures: build", fmt(fg["build_seconds_total"]))
            row("(8) all figures: save", fmt(fg["save_seconds_total"]))
    if "suite" in only:
        st = suite_time()
        if "error" in st:
            row("(9) default test suite", st["error"])
        else:
            row(
                f"(9) default test suite ({st['command']}, {st['date']})",
                fmt(st["seconds"]),
                "target 3-4 min",
            )
            row("(9) ... measured on", st["conditions"])
            before = st.get("previous")
            if before:
                row(
                    f"(9) ... the measurement before ({before['tests']} tests, {before['date']})",
                    fmt(before["seconds"]),
                )
            ref = st.get("reference")
            if ref:
                row(
                    f"(9) ... {ref['tests']} tests of {ref['commit']}, same machine and hour",
                    fmt(ref["seconds"]),
                )
                row("(9) ... reference measured on", ref["conditions"])
    if "exact" in only:
        ex = spawn("exact", args.quick)
        nu = spawn("nuts", args.quick)
        row(
            "(2) exact engine, beta-binomial, 16 studies (fit incl. draws)",
            fmt(ex.get("exact_fit_seconds")),
            "target < 50 ms",
        )
        if "exact_quadrature_seconds" in ex:
            row("(2) exact engine, quadrature only", fmt(ex["exact_quadrature_seconds"]))
        row(
            "(2) NUTS, same model, first fit (incl. compile)", fmt(nu.get("nuts_first_fit_seconds"))
        )
        row("(2) NUTS, same model, second fit", fmt(nu.get("nuts_second_fit_seconds")))
        if ex.get("exact_fit_seconds") and nu.get("nuts_second_fit_seconds"):
            row(
                "(2) NUTS second fit / exact",
                f"{nu['nuts_second_fit_seconds'] / ex['exact_fit_seconds']:.0f}x",
            )
    if "refit" in only:
        rf = spawn("refit", args.quick)
        if "skipped" in rf or "error" in rf:
            row(
                "(3) refit reusing the compiled model",
                rf.get("skipped", "error: " + rf.get("error", "")[-200:]),
            )
        else:
            row("(3) fresh build + compile + fit", fmt(rf["fresh_build_seconds"]))
            row(
                "(3) refit on new data, compiled model reused",
                fmt(rf["reused_refit_seconds"]),
                "target < 0.5 s",
            )
            row(
                "(3) fresh / reused",
                f"{rf['fresh_build_seconds'] / rf['reused_refit_seconds']:.1f}x",
            )
    if "compile" in only:
        cp = spawn("compile", args.quick)
        if "error" in cp:
            row("(3) NUTS compilation", "error: " + cp["error"][-200:])
        else:
            models = f"{cp['models']} models"
            row(f"(3) compile CPU per new model, packed ({models})", fmt(cp["packed_cpu_seconds"]))
            row("(3) ... each container its own variable", fmt(cp["unpacked_cpu_seconds"]))
            row(
                "(3) unpacked / packed",
                f"{cp['unpacked_cpu_seconds'] / cp['packed_cpu_seconds']:.1f}x",
            )
    if "survival" in only:
        sizes = [1_000, 100_000] + ([] if args.quick else [1_000_000])
        base = None
        for n in sizes:
            sv = spawn("survival", args.quick, str(n))
            if "error" in sv:
                row(f"(4) piecewise exponential, {n:.0e} patients", "error: " + sv["error"][-200:])
                continue
            row(f"(4) {n:.0e} patients: collapse", fmt(sv.get("collapse_seconds")))
            row(f"(4) {n:.0e} patients: fit after collapsing", fmt(sv.get("fit_seconds")))
            row(f"(4) {n:.0e} patients: peak memory", fmt(sv.get("peak_rss_mb"), "MB"))
            if base is None:
                base = sv.get("fit_seconds")
            elif base and sv.get("fit_seconds"):
                row(
                    f"(4) fit time {n:.0e} / 1e+03 patients",
                    f"{sv['fit_seconds'] / base:.2f}x",
                    "~1x (cost independent of n)",
                )
    if "brms" in only:
        br = brms(args.quick)
        if "skipped" in br or "error" in br:
            row("(5) R brms", br.get("skipped", "error: " + br.get("error", "")[-200:]))
        else:
            ours = ours_logit_normal_warm()
            row("(5) brms logit-normal, cold (compile + sample)", fmt(br["cold_seconds"]))
            row("(5) brms logit-normal, warm (compiled model reused)", fmt(br["warm_seconds"]))
            row("(5) bayes_anlo logit-normal, cold (first fit)", fmt(ours.get("cold_seconds")))
            row("(5) bayes_anlo logit-normal, warm (second fit)", fmt(ours.get("warm_seconds")))
            if ours.get("warm_seconds"):
                row(
                    "(5) ours warm / brms cold",
                    f"{ours['warm_seconds'] / br['cold_seconds']:.3f}",
                    "target < 0.2",
                )
                row("(5) ours warm / brms warm", f"{ours['warm_seconds'] / br['warm_seconds']:.2f}")
    if "sbc" in only:
        sb = spawn("sbc", args.quick)
        if "error" in sb:
            row("(6) SBC", "error: " + sb["error"][-200:])
        else:
            row(
                f"(6) SBC of {sb['sbc_datasets']} datasets (beta-binomial)",
                fmt(sb["sbc_seconds"]),
                "target < 5 min" if sb["sbc_datasets"] == 200 else "",
            )
            row(
                "(6) SBC peak memory (largest worker process)",
                fmt(sb["sbc_children_peak_rss_mb"], "MB"),
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
