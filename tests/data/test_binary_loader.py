"""The binary-outcome loader: what it accepts, and every kind of bad input reported at once."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from bayes_anlo import InputError, load_binary
from bayes_anlo.data.binary import UnknownOutcomeWarning


def write(tmp_path, text: str, name: str = "studies.csv", encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def messages(exc: InputError) -> list[str]:
    return [str(p) for p in exc.problems]


def test_loads_required_and_optional_columns_and_keeps_extras(tmp_path):
    path = write(
        tmp_path, "study,outcome,events,n,subgroup,extra\nA,ORR,3,20,x,keep me\nB,ORR,0,12,y,\n"
    )
    data = load_binary(path)
    assert list(data.events) == [3, 0] and list(data.n) == [20, 12]
    assert data.table["extra"].tolist() == ["keep me", ""]
    assert data.table["arm"].tolist() == ["", ""]  # optional columns exist, empty
    assert data.labels == ["A", "B"]  # study names are unique, so they are the labels
    assert len(data.sha256) == 64


def test_every_problem_is_reported_with_file_row_and_column(tmp_path):
    text = (
        "study,outcome,events,n\n"
        "A,ORR,5,4\n"  # row 2: events > n
        "B,ORR,-1,10\n"  # row 3: negative
        "C,ORR,2.5,10\n"  # row 4: not whole
        "D,ORR,1,0\n"  # row 5: n = 0
        ",ORR,1,10\n"  # row 6: missing study
        "F,ORR,,10\n"  # row 7: missing events
        "G,ORR,1,10\n"
        "G,ORR,2,10\n"  # row 9: duplicate key
        'H,ORR,"0,5",10\n'  # row 10: comma decimal
    )
    path = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_binary(path)
    got = messages(info.value)
    expected_prefixes = [
        f"{path}:2:events:",
        f"{path}:3:events:",
        f"{path}:4:events:",
        f"{path}:5:n:",
        f"{path}:6:study:",
        f"{path}:7:events:",
        f"{path}:9:study:",
        f"{path}:10:events:",
    ]
    for prefix in expected_prefixes:
        assert any(m.startswith(prefix) for m in got), (prefix, got)
    assert any("exceed" in m for m in got)
    assert any("duplicate key" in m and "row 8" in m for m in got)
    assert any("comma as decimal" in m for m in got)
    assert len(got) == len(expected_prefixes)


def test_unknown_outcome_warns_but_loads(tmp_path):
    path = write(
        tmp_path, "study,outcome,events,n\nA,ORR,1,10\nA,response,2,10\nA,AE:rash:3+,1,10\n"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load_binary(path)
    unknown = [w for w in caught if issubclass(w.category, UnknownOutcomeWarning)]
    assert len(unknown) == 1 and f"{path}:3:outcome" in str(unknown[0].message)
    assert len(data) == 3


@pytest.mark.parametrize(
    "text, needle",
    [
        ("", "file is empty"),
        ("study,outcome,events,n\n", "no data rows"),
        ("study,outcome,events\nA,ORR,1\n", ":1:n: required column is missing"),
        ("study;outcome;events;n\nA;ORR;1;10\n", "separated by ';'"),
    ],
)
def test_file_level_problems(tmp_path, text, needle):
    path = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_binary(path)
    assert needle in str(info.value)


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_binary(tmp_path / "nope.csv")


def test_byte_order_mark_is_accepted(tmp_path):
    path = write(tmp_path, "study,outcome,events,n\nA,ORR,1,10\n", encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert load_binary(path).studies == ["A"]


def test_dataframe_input_and_selection():
    frame = pd.DataFrame(
        {
            "study": ["A", "A", "B"],
            "outcome": ["ORR", "DCR", "ORR"],
            "events": [1, 5, 2],
            "n": [10, 10, 8],
        }
    )
    data = load_binary(frame)
    orr = data.select(outcome="ORR")
    assert orr.studies == ["A", "B"] and np.array_equal(orr.n, [10, 8])
    with pytest.raises(InputError, match="not in data"):
        data.select(outcome="PFS")
    assert data.exclude(study="A").studies == ["B"]


def test_hash_changes_with_any_number():
    base = pd.DataFrame(
        {"study": ["A", "B"], "outcome": ["ORR", "ORR"], "events": [1, 2], "n": [10, 8]}
    )
    other = base.assign(events=[1, 3])
    assert load_binary(base).sha256 == load_binary(base.copy()).sha256
    assert load_binary(base).sha256 != load_binary(other).sha256


def test_labels_add_only_the_columns_that_vary_when_studies_repeat():
    frame = pd.DataFrame(
        {
            "study": ["A", "A"],
            "outcome": ["ORR", "ORR"],
            "events": [1, 2],
            "n": [9, 9],
            "subgroup": ["FS", "SS"],
            "line": ["all", "all"],
        }
    )
    assert load_binary(frame).labels == ["A | FS", "A | SS"]


def test_select_and_exclude_name_an_unknown_column_at_the_header(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("study,outcome,events,n,arm\nA,ORR,3,20,x\nB,ORR,5,25,y\n")
    data = load_binary(path)
    assert list(data.select(outcome="ORR", arm=["y"]).table["study"]) == ["B"]
    assert list(data.exclude(arm="y").table["study"]) == ["A"]
    for call in (lambda: data.select(histology="STS"), lambda: data.exclude(histology="STS")):
        with pytest.raises(InputError) as err:
            call()
        assert str(err.value).startswith(f"{path}:1:histology: no column 'histology' to select on")
