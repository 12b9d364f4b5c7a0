"""Parsing analysis specs: valid specs load; every mistake is named with its table and key."""

from __future__ import annotations

import pytest

from bayes_anlo.errors import InputError
from bayes_anlo.spec import load_spec

MODELS = {"beta_binomial", "logit_normal"}

GOOD = """
[analysis]
name = "demo"
title = "Demo"
seed = 7

[data]
file = "d.csv"

[sampler]
draws = 200

[[analyses]]
id = "orr"
outcome = "ORR"
model = "beta_binomial"
thresholds = [0.1, 0.2]
priors = { mu = { dist = "beta", alpha = 1, beta = 1 } }
"""


def write(tmp_path, text):
    (tmp_path / "d.csv").write_text("study,outcome,events,n\nA,ORR,1,10\n")
    path = tmp_path / "spec.toml"
    path.write_text(text)
    return path


def test_valid_spec(tmp_path):
    spec = load_spec(write(tmp_path, GOOD), known_models=MODELS)
    assert spec.seed == 7 and spec.sampler == {"draws": 200}
    (entry,) = spec.analyses
    assert entry.thresholds == (0.1, 0.2)
    assert entry.data.file == (tmp_path / "d.csv").resolve()
    assert entry.priors["mu"]["alpha"] == 1


@pytest.mark.parametrize(
    "edit, where",
    [
        (lambda t: t.replace('model = "beta_binomial"', 'model = "beta_binomal"'), "analyses[1]:model: unknown model"),
        (lambda t: t.replace("draws = 200", "draws = -5"), "sampler:draws"),
        (lambda t: t.replace("draws = 200", "drawz = 200"), "sampler:drawz: unknown key"),
        (lambda t: t.replace("thresholds = [0.1, 0.2]", "thresholds = [10, 20]"), "analyses[1]:thresholds"),
        (lambda t: t.replace('file = "d.csv"', 'file = "missing.csv"'), "analyses[1]:file: data file"),
        (lambda t: t.replace("seed = 7", 'seed = "seven"'), "analysis:seed"),
        (lambda t: t + '\n[[analyses]]\nid = "orr"\nmodel = "logit_normal"\noutcome = "ORR"\n', "analyses[2]:id: duplicate"),
        (lambda t: t.replace('id = "orr"', 'id = "orr"\ncolour = "red"'), "analyses[1]:colour: unknown key"),
        (lambda t: t.replace('[analysis]', '[analysys]'), "(top level):analysys: unknown key"),
    ],
)
def test_spec_errors_name_table_and_key(tmp_path, edit, where):
    path = write(tmp_path, edit(GOOD))
    with pytest.raises(InputError) as info:
        load_spec(path, known_models=MODELS)
    assert f"{path}:{where}" in str(info.value)


def test_invalid_toml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[analysis\nname = 1")
    with pytest.raises(InputError, match="not valid TOML"):
        load_spec(bad, known_models=MODELS)
    with pytest.raises(InputError, match="does not exist"):
        load_spec(tmp_path / "nope.toml", known_models=MODELS)


def test_several_problems_reported_together(tmp_path):
    text = GOOD.replace("draws = 200", "draws = 0").replace('model = "beta_binomial"', 'model = "nope"')
    with pytest.raises(InputError) as info:
        load_spec(write(tmp_path, text), known_models=MODELS)
    assert len(info.value.problems) == 2
