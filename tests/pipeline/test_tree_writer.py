"""posterior.nc written by the helper process of pipeline/tree_writer.py: the same bytes as the
run writes itself, the helper's disk errors raised in the run (exit 2 there), and a helper that
dies or cannot start costs time, not the file."""

from __future__ import annotations

import errno

import numpy as np
import pytest
import xarray as xr

from bayes_anlo.pipeline.tree_writer import TreeWriter, netcdf_bytes


def _tree() -> xr.DataTree:
    rng = np.random.default_rng(3)
    posterior = xr.Dataset(
        {"pooled_rate": (("chain", "draw"), rng.uniform(size=(2, 50)))},
        coords={"chain": [0, 1], "draw": np.arange(50)},
    )
    tree = xr.DataTree.from_dict({"/orr/posterior": posterior})
    tree.attrs = {"seed": 7, "spec_text": "<b>not markup</b>"}
    return tree


@pytest.mark.parametrize("enabled", [True, False])
def test_the_helper_writes_the_bytes_the_run_writes(tmp_path, enabled):
    path = tmp_path / "posterior.nc"
    with TreeWriter(enabled=enabled) as writer:
        assert (writer._process is not None) == enabled
        writer.submit(_tree(), path)
        writer.wait()
    assert path.read_bytes() == netcdf_bytes(_tree())
    back = xr.open_datatree(path, engine="h5netcdf").load()
    assert back["orr/posterior"].identical(_tree()["orr/posterior"])


def test_a_disk_error_in_the_helper_is_raised_in_the_run(tmp_path):
    writer = TreeWriter()
    writer.submit(_tree(), tmp_path / "missing" / "posterior.nc")
    with pytest.raises(OSError) as caught:
        writer.wait()
    assert caught.value.errno == errno.ENOENT
    assert str(caught.value.filename).endswith("posterior.nc")


def test_a_dead_helper_costs_time_not_the_file(tmp_path):
    writer = TreeWriter()
    writer._process.kill()
    writer._process.wait()
    path = tmp_path / "posterior.nc"
    writer.submit(_tree(), path)
    writer.wait()
    assert path.read_bytes() == netcdf_bytes(_tree())


def test_leaving_on_an_error_kills_the_helper(tmp_path):
    with pytest.raises(KeyboardInterrupt), TreeWriter() as writer:
        process = writer._process
        raise KeyboardInterrupt
    assert process.poll() is not None
