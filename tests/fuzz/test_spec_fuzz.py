"""Property-based fuzzing of analysis specs (issue 11 item 2, spec part).

Valid spec trees (a response-rate and a survival analysis over bundled data) are corrupted by
hypothesis: a key set to a value of any type (huge, negative, NaN and infinite numbers, unicode
text, lists, tables, arrays nested hundreds deep), a required key removed, an unknown key added;
and the TOML text itself is cut or has bytes spliced in. Every outcome must be one of

* a :class:`~bayes_anlo.spec.Spec` (the corruption happened to be valid), or
* an :class:`~bayes_anlo.errors.InputError` whose problems are all located in the spec or in its
  data file, in the project's words (no pydantic text), never any other exception;

and through the CLI (`bayes-anlo run SPEC --out DIR --fast`) exit status 2 with only `error:`
lines and no fit started, or, for a valid spec, the first fit starting. Seeded (derandomized) and
small in the default suite; ``-m slow`` runs the long mode.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bayes_anlo.errors import InputError
from bayes_anlo.spec import Spec, load_spec

BASE = {
    "analysis": {
        "name": "fuzz",
        "title": "Fuzzed spec",
        "seed": 3,
        "audit": ["npc_qin2025"],
        "limitations": ["none"],
    },
    "data": {"dataset": "sarcoma_literature_abstracts"},
    "sampler": {"draws": 300, "tune": 300, "chains": 2, "target_accept": 0.9},
    "analyses": [
        {
            "id": "orr",
            "model": "beta_binomial",
            "outcome": "ORR",
            "thresholds": [0.1, 0.2],
            "priors": {"kappa": {"dist": "lognormal", "mu": 3, "sigma": 1.5}},
            "published": {
                "dataset": "li2025_meta_pooled",
                "where": {"outcome": "ORR", "subgroup": "all"},
            },
            "exclude": {"study": ["nobody"]},
            "sensitivity": False,
        },
        {
            "id": "tissue",
            "model": "nested_beta_binomial",
            "outcome": "ORR",
            "by": "subgroup",
            "options": {"within": "auto"},
            "sampler": {"target_accept": 0.95},
        },
        {
            "id": "pfs",
            "model": "piecewise_exponential",
            "endpoint": "PFS",
            "dataset": "qin2025_npc_survival",
            "options": {"times": [3, 6], "grid_size": 25, "hierarchical": True},
            "priors": {"study_sd": {"dist": "halfnormal", "sigma": 0.5}},
        },
    ],
}

PYDANTIC_WORDS = (
    "validation error",
    "Input should",
    "pydantic",
    "Traceback",
    "For further information",
)


# ------------------------------------------------------------------------------------------------
# a small TOML writer (inline tables; every key quoted) so that any generated tree can be written
# ------------------------------------------------------------------------------------------------
def _string(text: str) -> str:
    out = json.dumps(text, ensure_ascii=False)
    return out.replace("\x7f", "\\u007f")


def _value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_string(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def to_toml(tree: dict) -> str:
    return "".join(f"{_string(k)} = {_value(v)}\n" for k, v in tree.items())


# ------------------------------------------------------------------------------------------------
# strategies
# ------------------------------------------------------------------------------------------------
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
SCALARS = st.one_of(
    st.booleans(),
    INT64,
    st.sampled_from([0, -1, 1, 2, 10**18]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e300, -1e300, 1e-300, float("nan"), -0.0]),
    st.text(max_size=12),
    st.sampled_from(["", "nuts", "exact", "PFS", "ORR", "auto", "quantiles", "é\u202e", "x" * 400]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def deep(draw):
    depth = draw(
        st.sampled_from([17, 40, 150])
    )  # deeper trees: test_deep_nesting_anywhere (as text)
    value = draw(SCALARS)
    for _ in range(depth):
        value = [value] if draw(st.booleans()) else {"a": value}
    return value


def _paths(tree, prefix=()):
    """Every (container path, key) in a tree."""
    out = []
    items = tree.items() if isinstance(tree, dict) else enumerate(tree)
    for key, value in items:
        out.append((prefix, key))
        if isinstance(value, dict | list):
            out.extend(_paths(value, (*prefix, key)))
    return out


def _container(tree, path):
    for step in path:
        tree = tree[step]
    return tree


@st.composite
def corrupted_trees(draw):
    tree = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(tree)
        path, key = draw(st.sampled_from(paths))
        parent = _container(tree, path)
        action = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add", "deep"]))
        if action == "replace":
            parent[key] = draw(VALUES)
        elif action == "deep":
            parent[key] = draw(deep())
        elif action == "delete":
            del parent[key]
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=8))] = draw(VALUES)
        else:
            parent.append(draw(VALUES))
    return tree


# ------------------------------------------------------------------------------------------------
# the property
# ------------------------------------------------------------------------------------------------
def check_outcome(path: Path) -> Spec | InputError:
    """load_spec either returns a Spec or raises InputError with located, plain problems."""
    try:
        return load_spec(path)
    except InputError as exc:
        data_files = {str(path)} | {str(p) for p in path.parent.iterdir()}
        for problem in exc.problems:
            text = str(problem)
            assert problem.file in data_files or problem.file.startswith("<"), text
            assert problem.message and not any(w in text for w in PYDANTIC_WORDS), text
        return exc


def write(directory: Path, text: str | bytes) -> Path:
    path = directory / "fuzz.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


FAST = settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
LONG = settings(FAST, max_examples=1500)


def test_base_spec_is_valid(tmp_path):
    spec = load_spec(write(tmp_path, to_toml(BASE)))
    assert [e.id for e in spec.analyses] == ["orr", "tissue", "pfs"]


def _tree_property(tmp_path, tree):
    outcome = check_outcome(write(tmp_path, to_toml(tree)))
    if isinstance(outcome, Spec):
        assert outcome.analyses


@FAST
@given(tree=corrupted_trees())
def test_corrupted_spec_trees_load_or_fail_with_located_errors(tmp_path, tree):
    _tree_property(tmp_path, tree)


@st.composite
def corrupted_text(draw):
    text = to_toml(BASE).encode("utf-8")
    action = draw(st.sampled_from(["cut", "splice", "bytes"]))
    at = draw(st.integers(0, len(text)))
    if action == "cut":
        return text[:at]
    if action == "splice":
        return (
            text[:at]
            + draw(
                st.sampled_from(
                    [
                        b"[",
                        b"]",
                        b"{",
                        b"=",
                        b'"',
                        b"\n[[analyses]]\n",
                        b"\xff\xfe",
                        b"\x00",
                        b"\xc3",
                        "é".encode(),
                    ]
                )
            )
            + text[at:]
        )
    return text[:at] + draw(st.binary(max_size=8)) + text[at:]


@FAST
@given(text=corrupted_text())
def test_corrupted_spec_text_loads_or_fails_with_located_errors(tmp_path, text):
    check_outcome(write(tmp_path, text))


@FAST
@given(
    where=st.sampled_from(
        [
            "analysis.title",
            "data.dataset",
            "sampler.draws",
            "analyses.0.exclude.study",
            "analyses.2.options.times",
            "analyses.0.priors.kappa",
        ]
    ),
    depth=st.sampled_from([17, 999, 1500, 5000]),
    brackets=st.booleans(),
)
def test_deep_nesting_anywhere(tmp_path, where, depth, brackets):
    """Arrays or tables nested up to 5,000 deep at any key (written as text, as no writer recurses
    that deep)."""
    tree = copy.deepcopy(BASE)
    *path, key = [int(s) if s.isdigit() else s for s in where.split(".")]
    _container(tree, path)[key] = "@DEEP@"
    opener, closer = ("[", "]") if brackets else ('{"a" = ', "}")
    text = to_toml(tree).replace('"@DEEP@"', opener * depth + "1" + closer * depth)
    outcome = check_outcome(write(tmp_path, text))
    assert isinstance(outcome, InputError)


class FitStarted(Exception):
    """Raised by the patched fit: proves a valid spec reached the first fit (and no invalid one
    did)."""


@settings(FAST, max_examples=8)
@given(tree=corrupted_trees())
def test_cli_run_exits_2_with_error_lines_and_fits_nothing(tmp_path, tree):
    from click.testing import CliRunner

    from bayes_anlo.cli import app
    from bayes_anlo.pipeline import run as run_module

    path = write(tmp_path, to_toml(tree))
    out = tmp_path / "out"
    original = run_module.run_analysis

    def no_fit(entry, **kwargs):
        raise FitStarted(entry.id)

    run_module.run_analysis = no_fit
    try:
        result = CliRunner().invoke(app, ["run", str(path), "--out", str(out), "--fast"])
    finally:
        run_module.run_analysis = original
    valid = not isinstance(check_outcome(path), InputError)
    if valid:
        assert isinstance(result.exception, FitStarted), result.output
    else:
        assert result.exit_code == 2, result.output
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert lines and all(line.startswith("error: ") for line in lines), result.output
        assert not out.exists()


@pytest.mark.slow
@LONG
@given(tree=corrupted_trees())
def test_corrupted_spec_trees_long(tmp_path, tree):
    _tree_property(tmp_path, tree)


@pytest.mark.slow
@LONG
@given(text=corrupted_text())
def test_corrupted_spec_text_long(tmp_path, text):
    check_outcome(write(tmp_path, text))
