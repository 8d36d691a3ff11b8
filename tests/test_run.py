"""workbook.run: parameters injected after the parameters cell, figures read without notebook plumbing."""

from __future__ import annotations

import nbformat
import pytest

from workbook.run import inject_parameters, run_with_metrics


def code(src, tags=()):
    return nbformat.v4.new_code_cell(src, metadata={"tags": list(tags)})


def nb_of(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def test_inject_parameters_goes_after_the_parameters_cell():
    nb = nb_of(code("import x"), code("SEED = 0", ["parameters"]), code("print(SEED)"))
    out = inject_parameters(nb, {"SEED": 3, "NAME": "a b"})
    assert [c.source for c in out.cells][1:3] == ["SEED = 0", "# Injected parameters\nSEED = 3\nNAME = 'a b'"]
    assert len(nb.cells) == 3  # the input is not modified
    with pytest.raises(ValueError, match="identifier"):
        inject_parameters(nb, {"not valid": 1})
    with pytest.raises(ValueError, match="parameters"):
        inject_parameters(nb_of(code("x = 1")), {"SEED": 1})


def test_values_are_read_after_the_run_even_when_a_cell_fails(tmp_path):
    import numpy as np  # noqa: F401 - the notebook below returns numpy values

    nb = nb_of(code("", ["setup"]), code("SEED = 0", ["parameters"]),
               code("import os\nimport numpy as np\nsteps = np.int64(5 * SEED)\ncurve = np.arange(3)\n"
                    "where = os.getcwd()\nbad = float('nan')"),
               code("assert SEED != 3, 'seed 3 fails'"),
               code("late = 'set after the failure'"))
    path = tmp_path / "demo.ipynb"
    nbformat.write(nb, str(path))
    collect = {"seed": "SEED", "steps": "steps", "curve": "curve", "where": "where", "nan": "bad",
               "missing": "never_defined", "late": "late"}
    ok = run_with_metrics(path, {"SEED": 1}, collect=collect, timeout=60)
    assert ok.error is None and ok.seconds > 0
    assert ok.metrics == {**ok.metrics, "seed": 1, "steps": 5, "curve": [0, 1, 2], "nan": None, "missing": None}
    assert ok.metrics["where"] != str(tmp_path)  # runs in its own temporary folder
    bad = run_with_metrics(path, {"SEED": 3}, collect=collect, timeout=60)
    assert bad.metrics["seed"] == 3 and bad.metrics["steps"] == 15
    assert bad.error.startswith("AssertionError in cell") and "seed 3 fails" in bad.error
    assert bad.metrics["late"] == "set after the failure"  # the run went on past the failing cell
