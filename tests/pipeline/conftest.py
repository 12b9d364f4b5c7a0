"""A small spec that runs end to end in seconds (exact engine only), shared by the pipeline
tests."""

from __future__ import annotations

import pytest

CSV = """study,outcome,events,n,subgroup,source
S1,ORR,3,30,STS,synthetic test data
S2,ORR,8,41,STS,synthetic test data
S3,ORR,0,18,bone,synthetic test data
S4,ORR,12,52,bone,synthetic test data
S5,ORR,5,25,STS,synthetic test data
S6,ORR,2,33,bone,synthetic test data
S1,DCR,20,30,STS,synthetic test data
S2,DCR,30,41,STS,synthetic test data
S3,DCR,18,18,bone,synthetic test data
"""

SPEC = """
[analysis]
name = "pipeline_test"
title = "Pipeline test: synthetic response rates"
description = "Six synthetic studies, fitted with the exact engine so the test runs in seconds."
seed = 11
limitations = ["Synthetic data."]

[data]
file = "studies.csv"

[sampler]
draws = 500
chains = 2

[[analyses]]
id = "orr"
title = "Synthetic ORR"
outcome = "ORR"
model = "beta_binomial"
method = "exact"
thresholds = [0.1, 0.2]

[[analyses]]
id = "dcr_single"
title = "Synthetic DCR, first study only"
outcome = "DCR"
model = "complete_pooling"
method = "exact"
where = { study = "S1" }
thresholds = [0.5]
"""


#: A one-analysis spec (single study, conjugate, no sensitivity refits) for tests of the run
#: directory's mechanics, where the statistics do not matter.
SMALL_SPEC = (
    SPEC.split("[[analyses]]")[0]
    + """[[analyses]]
id = "dcr_single"
title = "Synthetic DCR, first study only"
outcome = "DCR"
model = "complete_pooling"
method = "exact"
where = { study = "S1" }
sensitivity = false
"""
)

#: Two cheap analyses (one study each, conjugate, no prior-sensitivity refits) with the ids of
#: SPEC's, in its order: "orr" (S2's ORR, with thresholds) and SMALL_SPEC's "dcr_single", for
#: tests of what happens per analysis (progress lines, which analyses a cache refits), where the
#: statistics do not matter.
TWO_SMALL_SPEC = (
    SMALL_SPEC.split("[[analyses]]")[0]
    + """[[analyses]]
id = "orr"
title = "Synthetic ORR, second study only"
outcome = "ORR"
model = "complete_pooling"
method = "exact"
where = { study = "S2" }
thresholds = [0.1, 0.2]
sensitivity = false

[[analyses]]"""
    + SMALL_SPEC.split("[[analyses]]")[1]
)


@pytest.fixture
def two_small_spec_path(tmp_path):
    (tmp_path / "studies.csv").write_text(CSV)
    path = tmp_path / "two_small.toml"
    path.write_text(TWO_SMALL_SPEC)
    return path


@pytest.fixture
def small_spec_path(tmp_path):
    (tmp_path / "studies.csv").write_text(CSV)
    path = tmp_path / "small.toml"
    path.write_text(SMALL_SPEC)
    return path


@pytest.fixture
def spec_path(tmp_path):
    (tmp_path / "studies.csv").write_text(CSV)
    path = tmp_path / "spec.toml"
    path.write_text(SPEC)
    return path


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory):
    """One completed run directory, shared by the read-only tests."""
    from bayes_anlo.pipeline.run import run_spec

    base = tmp_path_factory.mktemp("run")
    (base / "studies.csv").write_text(CSV)
    (base / "spec.toml").write_text(SPEC)
    run_spec(base / "spec.toml", base / "out")
    return base / "out"
