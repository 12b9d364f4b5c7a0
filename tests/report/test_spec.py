"""Parsing analysis specs: valid specs load; every mistake is named with its table and key, all of
them at once, before anything is fitted; the spec reference in docs/ is the schema's."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from bayes_anlo.errors import InputError
from bayes_anlo.spec import load_spec

MODELS = {"beta_binomial", "logit_normal"}
REPO = Path(__file__).resolve().parents[2]

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

#: Bundled data: a response-rate spec over sarcoma studies (subgroups STS and bone, several rows
#: each) and a survival spec over the NPC summaries (PFS and OS, one arm "anlotinib").
BINARY = """
[analysis]
name = "binary"
seed = 1

[data]
dataset = "sarcoma_literature_abstracts"

[[analyses]]
id = "orr"
outcome = "ORR"
model = "beta_binomial"
"""

SURVIVAL = """
[analysis]
name = "survival"

[data]
dataset = "qin2025_npc_survival"

[[analyses]]
id = "pfs"
model = "piecewise_exponential"
endpoint = "PFS"
"""


def write(tmp_path, text, name="spec.toml"):
    (tmp_path / "d.csv").write_text("study,outcome,events,n\nA,ORR,1,10\n")
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path, **kwargs) -> list[str]:
    with pytest.raises(InputError) as info:
        load_spec(path, **kwargs)
    # "row:column: message" from the fields (independent of how Problem prints empty parts)
    assert all(p.file == str(path) for p in info.value.problems if p.file.endswith(".toml"))
    return [
        f"{'' if p.row is None else p.row}:{'' if p.column is None else p.column}: {p.message}"
        for p in info.value.problems
    ]


def test_valid_spec(tmp_path):
    spec = load_spec(write(tmp_path, GOOD), known_models=MODELS)
    assert spec.seed == 7 and spec.sampler == {"draws": 200}
    (entry,) = spec.analyses
    assert entry.thresholds == (0.1, 0.2)
    assert entry.data.file == (tmp_path / "d.csv").resolve()
    assert entry.data.kind == "binary" and entry.location == "analyses[1]"
    assert entry.priors["mu"]["alpha"] == 1


@pytest.mark.parametrize(
    "edit, where",
    [
        (
            lambda t: t.replace('model = "beta_binomial"', 'model = "beta_binomal"'),
            "analyses[1]:model: unknown model",
        ),
        (lambda t: t.replace("draws = 200", "draws = -5"), "sampler:draws"),
        (lambda t: t.replace("draws = 200", "drawz = 200"), "sampler:drawz: unknown key"),
        (
            lambda t: t.replace("thresholds = [0.1, 0.2]", "thresholds = [10, 20]"),
            "analyses[1]:thresholds",
        ),
        (
            lambda t: t.replace('file = "d.csv"', 'file = "missing.csv"'),
            "analyses[1]:file: data file",
        ),
        (lambda t: t.replace("seed = 7", 'seed = "seven"'), "analysis:seed"),
        (
            lambda t: t + '\n[[analyses]]\nid = "orr"\nmodel = "logit_normal"\noutcome = "ORR"\n',
            "analyses[2]:id: duplicate",
        ),
        (
            lambda t: t.replace('id = "orr"', 'id = "orr"\ncolour = "red"'),
            "analyses[1]:colour: unknown key",
        ),
        (lambda t: t.replace("[analysis]", "[analysys]"), "(top level):analysys: unknown key"),
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
    with pytest.raises(InputError, match="not valid TOML") as info:
        load_spec(bad, known_models=MODELS)
    (problem,) = info.value.problems
    assert problem.row == 1 and problem.column is not None  # located by line and column
    with pytest.raises(InputError, match="does not exist"):
        load_spec(tmp_path / "nope.toml", known_models=MODELS)


def test_several_problems_reported_together(tmp_path):
    text = GOOD.replace("draws = 200", "draws = 0").replace(
        'model = "beta_binomial"', 'model = "nope"'
    )
    with pytest.raises(InputError) as info:
        load_spec(write(tmp_path, text), known_models=MODELS)
    assert len(info.value.problems) == 2


# ------------------------------------------------------------------------------------------------
# issue 11: wrong types anywhere, model options, priors, data, nesting; all before any fit
# ------------------------------------------------------------------------------------------------


def _set(key_line: str):
    """Insert a line into the (first) analysis table."""
    return lambda t: t.replace('id = "orr"', f'id = "orr"\n{key_line}').replace(
        'id = "pfs"', f'id = "pfs"\n{key_line}'
    )


@pytest.mark.parametrize(
    "base, edit, location, reason",
    [
        (BINARY, lambda t: "sampler = 5\n" + t, "(top level):sampler", "must be a table"),
        (BINARY, lambda t: "report = 5\n" + t, "(top level):report", "no longer accepted"),
        (
            BINARY,
            lambda t: (
                'data = "x"\n'
                + t.replace("[data]", "[unused]").replace(
                    'dataset = "sarcoma_literature_abstracts"', ""
                )
            ),
            "(top level):data",
            "must be a table",
        ),
        (BINARY, _set("file = 5"), "analyses[1]:file", "must be text"),
        (
            BINARY,
            _set("where = { study = 5 }"),
            "analyses[1].where:study",
            "text or a non-empty list of text",
        ),
        (
            BINARY,
            _set("published = { dataset = 5 }"),
            "analyses[1].published:dataset",
            "must be text",
        ),
        (
            BINARY,
            _set('published = { where = { outcome = "ORR" } }'),
            "analyses[1].published:dataset",
            "missing",
        ),
        (
            BINARY,
            _set('published = { dataset = "li2025_meta_pooled", wher = 1 }'),
            "analyses[1].published:wher",
            "unknown key",
        ),
        (
            BINARY,
            _set('published = { dataset = "li2025_meta_pooled", where = { nope = "x" } }'),
            "analyses[1].published.where:nope",
            "no column",
        ),
        (
            BINARY,
            _set('published = { dataset = "li2025_meta_pooled", where = { outcome = "XYZ" } }'),
            "analyses[1].published:where",
            "no rows",
        ),
        (
            BINARY,
            _set('published = { dataset = "sarcoma_literature_abstracts" }'),
            "analyses[1].published:dataset",
            "not published results",
        ),
        (BINARY, _set("endpoint = 5"), "analyses[1]:endpoint", "'PFS' or 'OS'"),
        (BINARY, _set('endpoint = "PFS"'), "analyses[1]:endpoint", "only for survival models"),
        (BINARY, _set("sensitivity = 1"), "analyses[1]:sensitivity", "true or false"),
        # a typo'd key names the key it is close to (found trying the HCC example)
        (
            BINARY,
            _set("threshhold = [0.1]"),
            "analyses[1]:threshhold",
            "unknown key; did you mean 'thresholds'?",
        ),
        (BINARY, _set("zzz = 1"), "analyses[1]:zzz", "unknown key; allowed here: id,"),
        (BINARY, _set("frequentist = false"), "analyses[1]:frequentist", "no longer accepted"),
        (BINARY, _set("thresholds = [0.1, nan]"), "analyses[1]:thresholds", "between 0 and 1"),
        (BINARY, _set('by = "subgroup"'), "analyses[1]:by", "takes no grouping column"),
        (
            BINARY,
            _set('reference_arm = "a"'),
            "analyses[1]:reference_arm",
            "only for survival models",
        ),
        (BINARY, _set('kind = "km"'), "analyses[1]:kind", "reads binary data"),
        (BINARY, _set('risk_table = "r.csv"'), "analyses[1]:risk_table", 'only with kind = "km"'),
        (
            BINARY,
            _set('options = { within = "auto" }'),
            "analyses[1].options:within",
            "unknown key; allowed here: none",
        ),
        (
            BINARY,
            _set('priors = { kappa = { dist = "lognormal", mu = 3, sigma = 1e300 } }'),
            "analyses[1].priors.kappa:sigma",
            "outside the sensible range",
        ),
        (
            BINARY,
            _set('priors = { kappa = { dist = "lognormal", mu = 3, sigma = 1e-300 } }'),
            "analyses[1].priors.kappa:sigma",
            "outside the sensible range",
        ),
        (
            BINARY,
            _set('priors = { kappa = { dist = "lognormal", mu = 3, sigma = inf } }'),
            "analyses[1].priors.kappa:sigma",
            "finite",
        ),
        (
            BINARY,
            _set('priors = { kappa = { dist = "lognormal", mu = 710, sigma = 1.5 } }'),
            "analyses[1].priors:kappa",
            "overflow",
        ),  # found by tests/fuzz (exp(710) overflows)
        (BINARY, _set('where = { histology = "x" }'), "analyses[1].where:histology", "no column"),
        (
            BINARY,
            lambda t: t.replace('outcome = "ORR"', 'outcome = "XYZ"'),
            "analyses[1]:outcome",
            "not in the data",
        ),
        (
            BINARY,
            lambda t: t.replace(
                'model = "beta_binomial"', 'model = "two_arm"\noptions = { hierarchical = "no" }'
            ),
            "analyses[1].options:hierarchical",
            'true, false or "auto"',
        ),
        (
            BINARY,
            lambda t: t.replace(
                'model = "beta_binomial"', 'model = "two_arm"\noptions = { arms = ["a", "a"] }'
            ),
            "analyses[1].options:arms",
            "two different arms",
        ),
        (BINARY, lambda t: t.replace("seed = 1", "seed = -1"), "analysis:seed", ">= 0"),
        (
            BINARY,
            lambda t: t.replace("seed = 1", "seed = 1\nsources = []"),
            "analysis:sources",
            "no longer accepted",
        ),
        (
            SURVIVAL,
            _set('options = { hierarchical = "no" }'),
            "analyses[1].options:hierarchical",
            "true or false",
        ),
        (
            SURVIVAL,
            _set("options = { cuts = [0, 6, 3] }"),
            "analyses[1].options:cuts",
            "strictly increasing",
        ),
        (
            SURVIVAL,
            _set("options = { cuts = [3, 6] }"),
            "analyses[1].options:cuts",
            "starting at 0",
        ),
        (
            SURVIVAL,
            _set("options = { grid_size = 1 }"),
            "analyses[1].options:grid_size",
            "[2, 2001]",
        ),
        (SURVIVAL, _set("options = { times = [-3] }"), "analyses[1].options:times[1]", "(0, 1200]"),
        (
            SURVIVAL,
            _set('options = { horizon = "abc" }'),
            "analyses[1].options:horizon",
            "must be a number",
        ),
        (SURVIVAL, _set("options = { horizon = 0 }"), "analyses[1].options:horizon", "(0, 1200]"),
        (
            SURVIVAL,
            _set('options = { endpoint = "OS" }'),
            "analyses[1].options:endpoint",
            "key of the analysis itself",
        ),
        (
            SURVIVAL,
            _set('options = { collapse = ["histology"] }'),
            "analyses[1].options:collapse",
            "no column",
        ),
        (
            SURVIVAL,
            _set('exclude = { histology = "x" }'),
            "analyses[1].exclude:histology",
            "no column",
        ),
        (SURVIVAL, _set('method = "exact"'), "analyses[1]:method", "fitted by nuts"),
        (SURVIVAL, _set('outcome = "ORR"'), "analyses[1]:outcome", "not used by survival model"),
        (
            SURVIVAL,
            _set("thresholds = [0.5]"),
            "analyses[1]:thresholds",
            "not used by survival model",
        ),
        (
            SURVIVAL,
            _set('priors = { study_sd = { dist = "halfnormal", sigma = 1e300 } }'),
            "analyses[1].priors.study_sd:sigma",
            "outside the sensible range",
        ),
        (
            SURVIVAL,
            _set('priors = { study_sd = { dist = "normal", mu = 0, sigma = 1 } }'),
            "analyses[1].priors.study_sd:dist",
            "does not live on",
        ),
        (
            SURVIVAL,
            _set('reference_arm = "placebo"'),
            "analyses[1]:reference_arm",
            "not in the data",
        ),
        (SURVIVAL, _set('kind = "binary"'), "analyses[1]:kind", "ipd, km or summaries"),
        (
            SURVIVAL,
            lambda t: t.replace('endpoint = "PFS"\n', ""),
            "analyses[1]:endpoint",
            "required",
        ),
        (
            SURVIVAL,
            lambda t: t.replace('endpoint = "PFS"', 'endpoint = "pfs"'),
            "analyses[1]:endpoint",
            "'PFS' or 'OS'",
        ),
    ],
)
def test_issue11_spec_mistakes_are_located(tmp_path, base, edit, location, reason):
    path = write(tmp_path, edit(base))
    problems = problems_of(path)
    assert any(p.startswith(location + ":") and reason in p for p in problems), problems
    for p in problems:  # the project's words, never pydantic's
        assert "validation error" not in p and "Input should" not in p and "pydantic" not in p


def test_data_problems_of_a_late_analysis_stop_the_run_before_any_fit(tmp_path, monkeypatch):
    """The second analysis is wrong only in a way its data show (survival `exclude` on an unknown
    column): the run fails with exit 2 before the first analysis is fitted."""
    from click.testing import CliRunner

    from bayes_anlo.cli import app
    from bayes_anlo.pipeline import run as run_module

    text = (
        BINARY + '\n[[analyses]]\nid = "pfs"\nmodel = "piecewise_exponential"\nendpoint = "PFS"\n'
        'dataset = "qin2025_npc_survival"\nexclude = { histology = "x" }\n'
    )
    path = write(tmp_path, text)
    fitted = []
    monkeypatch.setattr(run_module, "run_analysis", lambda entry, **kw: fitted.append(entry.id))
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "out"), "--fast"])
    assert result.exit_code == 2 and fitted == []
    assert f"error: {path}:analyses[2].exclude:histology:" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def test_every_problem_of_a_spec_is_reported_at_once(tmp_path):
    text = (
        BINARY.replace("seed = 1", 'seed = "one"')
        + """
[[analyses]]
id = "bad id"
model = "beta_binomial"
outcome = "ORR"

[[analyses]]
id = "dcr"
model = "beta_binomial"
outcome = "DCR"
where = { histology = "x" }

[[analyses]]
id = "pfs"
model = "piecewise_exponential"
endpoint = "PFS"
dataset = "qin2025_npc_survival"
options = { grid_size = 1 }
"""
    )
    problems = problems_of(write(tmp_path, text))
    located = {p.split(": ", 1)[0] for p in problems}
    assert located == {
        "analysis:seed",
        "analyses[2]:id",
        "analyses[3].where:histology",
        "analyses[4].options:grid_size",
    }


def test_title_defaults_to_the_spec_name_not_an_audit_name(tmp_path):
    text = BINARY.replace("seed = 1", 'seed = 1\naudit = ["npc_qin2025"]')
    spec = load_spec(write(tmp_path, text))
    assert spec.name == "binary" and spec.title == "binary" and spec.audits == ("npc_qin2025",)


def test_figure_formats_default_to_png_and_always_include_it(tmp_path):
    assert load_spec(write(tmp_path, GOOD), known_models=MODELS).figure_formats == ("png",)
    text = GOOD.replace("seed = 7", 'seed = 7\nfigure_formats = ["pdf", "svg"]')
    spec = load_spec(write(tmp_path, text), known_models=MODELS)
    assert spec.figure_formats == ("png", "pdf", "svg")
    for bad in ('["gif"]', '"pdf"', "[]"):
        text = GOOD.replace("seed = 7", f"seed = 7\nfigure_formats = {bad}")
        problems = problems_of(write(tmp_path, text), known_models=MODELS)
        assert any(p.startswith("analysis:figure_formats") for p in problems), problems


@pytest.mark.parametrize("depth", [40, 2000, 5000])
@pytest.mark.parametrize(
    "template", ["where = {{ study = {open}1{close} }}", "priors = {open}1{close}"]
)
def test_deeply_nested_toml_is_an_input_error(tmp_path, depth, template):
    opener, closer = ("[", "]") if "where" in template else ("{ a = ", " }")
    line = template.format(open=opener * depth, close=closer * depth)
    path = write(tmp_path, BINARY.replace('id = "orr"', f'id = "orr"\n{line}'))
    problems = problems_of(path)
    assert len(problems) == 1
    assert (
        "nested" in problems[0]
        or "text or a non-empty list" in problems[0]
        or "unknown prior" in problems[0]
    )


def test_non_utf8_spec_is_located_by_line(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[analysis]\nname = "x"\ntitle = "caf\xe9"\n')
    (problem,) = problems_of(path)
    assert problem.startswith("3::") and "UTF-8" in problem


def test_kind_km_with_risk_table_and_totals_resolves_paths(tmp_path):
    (tmp_path / "km.csv").write_text("study,arm,time,survival\nS,a,0,1\nS,a,6,0.5\n")
    (tmp_path / "risk.csv").write_text("study,arm,time,n_risk\nS,a,0,20\n")
    (tmp_path / "totals.csv").write_text("study,arm,total_events,n_patients\nS,a,10,20\n")
    text = (
        '[analysis]\nname = "km"\n[data]\nfile = "km.csv"\nkind = "km"\nrisk_table = '
        '"risk.csv"\ntotals = "totals.csv"\n[[analyses]]\nid = "pfs"\nmodel = '
        '"piecewise_exponential"\nendpoint '
        ""
        '= "PFS"\nreference_arm = "a"\n'
    )
    spec = load_spec(
        write(tmp_path, text), check_data=False
    )  # km inputs are prepared by pipeline/survival.py
    (entry,) = spec.analyses
    assert entry.data.kind == "km" and entry.reference_arm == "a"
    assert entry.data.risk_table == (tmp_path / "risk.csv").resolve()
    assert entry.data.totals == (tmp_path / "totals.csv").resolve()
    missing = text.replace('totals = "totals.csv"', 'totals = "nope.csv"')
    assert any(
        p.startswith("analyses[1]:totals: totals file")
        for p in problems_of(write(tmp_path, missing), check_data=False)
    )


def test_bundled_specs_load_with_their_data():
    for path in sorted((REPO / "models").glob("*.toml")):
        spec = load_spec(path)
        assert spec.analyses and spec.title


# ------------------------------------------------------------------------------------------------
# the schema against the code it describes, and the generated reference
# ------------------------------------------------------------------------------------------------


def test_model_option_schemas_match_the_model_constructors():
    """Every constructor argument a spec can set is in the model's option schema with the
    constructor's default (or None: left to the model), and the schema has nothing the constructor
    (or the survival pipeline's
    ``collapse``) would not take."""
    from bayes_anlo.models import MODELS
    from bayes_anlo.spec_schema import GROUPED_MODELS, MODEL_OPTIONS

    set_elsewhere = {"self", "priors", "method", "sampler", "thresholds", "by", "endpoint"}
    assert set(MODEL_OPTIONS) == set(MODELS)
    for name, cls in MODELS.items():
        params = {
            k: p
            for k, p in inspect.signature(cls.__init__).parameters.items()
            if k not in set_elsewhere
        }
        fields = MODEL_OPTIONS[name].model_fields
        extra = set(cls.pipeline_options)
        assert set(fields) == set(params) | extra, name
        for key, param in params.items():
            default = fields[key].default
            if (
                default is None
            ):  # not passed unless the spec sets it: the model keeps its own default
                continue
            assert (list(default) if isinstance(default, tuple) else default) == (
                list(param.default) if isinstance(param.default, tuple) else param.default
            ), (name, key)
        if "by" in inspect.signature(cls.__init__).parameters:
            by_default = inspect.signature(cls.__init__).parameters["by"].default
            # None: grouping is optional (exnex: without `by` each row is a subtype)
            assert by_default in (GROUPED_MODELS[name], None), name


def test_docs_spec_reference_is_generated_from_the_schema():
    from bayes_anlo.spec_reference import reference_markdown

    text = reference_markdown()
    assert (REPO / "docs" / "spec.md").read_text(encoding="utf-8") == text, (
        "docs/spec.md is stale: run `python -m bayes_anlo.spec_reference docs/spec.md`"
    )
    from bayes_anlo.models import MODELS
    from bayes_anlo.spec_schema import (
        MODEL_OPTIONS,
        AnalysisMeta,
        AnalysisTable,
        DataTable,
        SamplerTable,
    )

    for table in (AnalysisMeta, DataTable, SamplerTable, AnalysisTable, *MODEL_OPTIONS.values()):
        for key in table.model_fields:
            assert f"| `{key}` |" in text, key
    for name in MODELS:
        assert f"### `{name}`" in text
