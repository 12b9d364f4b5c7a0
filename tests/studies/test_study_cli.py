"""`bayes-anlo study sbc|coverage`: the documented files with their columns on tiny runs, a rerun
served from the cache, and bad options as exit 2 with `error:` lines (never a traceback)."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from bayes_anlo.cli import app
from bayes_anlo.studies.sbc_runs import select_setups


def invoke(args):
    result = CliRunner().invoke(app, args, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_coverage_quick_writes_tables_and_figure(tmp_path):
    out, cache = tmp_path / "out", tmp_path / "cache"
    args = ["study", "coverage", "--quick", "--replicates", "1", "--out", str(out)]
    result = invoke([*args, "--cache", str(cache)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "results" / "coverage.csv")
    assert {"k", "n_range", "rate", "tau", "method", "coverage", "mcse", "median_width"} <= set(
        table.columns
    )
    assert len(table) == 4 * 6  # the quick design's 4 cells x 6 methods
    assert (table["replicates"] == 1).all()
    for name in ("coverage_table.md", "coverage_overview.md"):
        assert (out / "results" / name).read_text().startswith("| tau |")
    assert (out / "figures" / "coverage.png").stat().st_size > 5000
    assert len(list(cache.glob("*/*.json"))) == 4  # one block per cell


def test_sbc_writes_ranks_summary_and_histograms(tmp_path):
    out = tmp_path / "out"
    args = ["study", "sbc", "--model", "beta_binomial", "--method", "exact", "--datasets", "2"]
    result = invoke([*args, "--seed", "4", "--out", str(out), "--cache", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    ranks = pd.read_csv(out / "results" / "sbc_beta_binomial_exact_ranks.csv")
    assert list(ranks.columns[:5]) == ["model", "dataset", "mu", "log_kappa", "study_rate_1"]
    assert {"fit_seconds", "truth_mu", "workers"} <= set(ranks.columns)
    assert ranks["dataset"].tolist() == [0, 1]
    assert ranks[["mu", "log_kappa", "study_rate_1"]].isin(range(200)).all().all()
    summary = pd.read_csv(out / "results" / "sbc_summary.csv")
    assert summary["parameter"].tolist() == ["mu", "log_kappa", "study_rate_1"]
    assert {"chi2_p", "ecdf_p", "flagged", "fit_seconds_total"} <= set(summary.columns)
    assert (out / "figures" / "sbc_beta_binomial_exact.png").stat().st_size > 5000
    # a rerun is served from the cache: the same ranks and fit times
    again = invoke([*args, "--seed", "4", "--out", str(out), "--cache", str(tmp_path / "c")])
    assert again.exit_code == 0
    pd.testing.assert_frame_equal(
        pd.read_csv(out / "results" / "sbc_beta_binomial_exact_ranks.csv"), ranks
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["sbc", "--model", "gamma"], "unknown model 'gamma'"),
        (["sbc", "--method", "vi"], "unknown method 'vi'"),
        (["sbc", "no_such_setup"], "unknown set-up 'no_such_setup'"),
        (["sbc", "nested_nuts", "--method", "exact"], "no SBC set-up matches"),
        (["sbc", "--datasets", "0"], "--datasets"),
        (["coverage", "--workers", "0"], "--workers"),
        (["coverage", "--replicates", "0"], "--replicates"),
        (["coverage", "--quick"], "--out"),
        (["coverage", "--quick", "--scheduler", "tcp://127.0.0.1:9"], "cannot reach"),
    ],
)
def test_bad_options_exit_2_with_an_error_line(tmp_path, monkeypatch, args, message):
    from bayes_anlo.runner import execute

    # nothing listens on port 9: one second of retries says so as well as the default ten
    monkeypatch.setattr(execute, "SCHEDULER_TIMEOUT", 1)
    if "--out" != message:
        args = [*args, "--out", str(tmp_path / "out"), "--no-cache"]
    result = invoke(["study", *args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert lines and message in "\n".join(lines), result.output


def test_set_up_selection_by_model_and_method():
    assert list(select_setups(models=["logit_normal"])) == [
        "logit_normal_exact",
        "logit_normal_nuts",
    ]
    assert list(select_setups(methods=["exact"])) == ["beta_binomial_exact", "logit_normal_exact"]
    assert len(select_setups()) == 7


def test_study_oc_is_registered_and_loaded_only_when_named(tmp_path):
    """``study oc`` comes from bayes_anlo.design.oc_cli, imported on demand: the CLI module
    alone must not import the design package (every command would pay for it)."""
    import subprocess
    import sys

    code = (
        "import sys, bayes_anlo.cli; "
        "print(any(m.startswith('bayes_anlo.design') for m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert loaded.stdout.strip() == "False", loaded.stderr
    result = invoke(["study", "--help"])
    assert result.exit_code == 0 and "oc" in result.output
    out = tmp_path / "oc"
    args = ["study", "oc", "--out", str(out), "--rule", "0.2:0.9", "--prior", "beta(1, 1)"]
    result = invoke([*args, "--n", "20", "--rates", "0.1:0.3:0.1", "--sims", "500", "--no-cache"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "results" / "oc.csv")
    assert len(table) == 3 and (out / "figures" / "oc.png").is_file()
    assert (table["probability_of_success"] - table["exact"]).abs().max() < 0.1
