"""workbook.build: stripping solutions, leak and staleness checks, committed notebooks' hygiene."""

from __future__ import annotations

import shutil

import nbformat
import pytest

from workbook.build import (
    CODE_PLACEHOLDER,
    MARKDOWN_PLACEHOLDER,
    MarkerError,
    build,
    check,
    setup_cell_source,
    strip_solutions,
)


def nb_of(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def code(src, tags=()):
    return nbformat.v4.new_code_cell(src, metadata={"tags": list(tags)})


def md(src):
    return nbformat.v4.new_markdown_cell(src)


SOLVED = """def f(x):
    ### BEGIN SOLUTION
    return x * 2  # the real answer
    ### END SOLUTION
"""


def test_code_solution_becomes_a_placeholder_keeping_indentation():
    out = strip_solutions(nb_of(code(SOLVED)))
    assert out.cells[0].source == "def f(x):\n    # YOUR CODE HERE\n    ...\n"
    ns = {}
    exec(out.cells[0].source, ns)  # the placeholder runs and does not raise
    assert ns["f"](3) is None


def test_top_level_solution_becomes_pass_so_nothing_is_echoed():
    out = strip_solutions(nb_of(code("choice = None\n### BEGIN SOLUTION\nchoice = 2\n### END SOLUTION")))
    assert out.cells[0].source == "choice = None\n# YOUR CODE HERE\npass"  # `...` would print "Ellipsis"


def test_markdown_solution_becomes_your_answer_here():
    out = strip_solutions(nb_of(md("Why?\n\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION")))
    assert out.cells[0].source == f"Why?\n\n{MARKDOWN_PLACEHOLDER}"


def test_hidden_tests_are_removed():
    src = "quiz.check('a', f)\n### BEGIN HIDDEN TESTS\nquiz.check('secret', g)\n### END HIDDEN TESTS\nok()"
    assert strip_solutions(nb_of(code(src))).cells[0].source == "quiz.check('a', f)\nok()"


@pytest.mark.parametrize("src, message", [
    ("### BEGIN SOLUTION\nx = 1", "never closed"),
    ("x = 1\n### END SOLUTION", "without a matching BEGIN"),
    ("### BEGIN SOLUTION\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS\n### END SOLUTION", "inside an open region"),
    ("### BEGIN SOLUTION\nx = 1\n### END HIDDEN TESTS", "without a matching BEGIN"),
])
def test_malformed_markers_are_reported_with_the_cell(src, message):
    with pytest.raises(MarkerError, match=message) as info:
        strip_solutions(nb_of(code(src)), "demo")
    assert "demo, cell 0" in str(info.value)


def test_hidden_tests_in_markdown_are_rejected():
    with pytest.raises(MarkerError, match="code"):
        strip_solutions(nb_of(md("### BEGIN HIDDEN TESTS\nx\n### END HIDDEN TESTS")))


def test_setup_cell_is_built_from_pyproject(root):
    src = setup_cell_source(root)
    assert '"google.colab" in sys.modules' in src
    assert "git+https://github.com/" in src and "gymnasium==1.4.*" in src
    assert "torch" not in src.split("pip")[-2]  # Colab's own torch is kept
    compile(src, "setup", "exec")


def make_course(tmp_path, root, solution_source=SOLVED):
    (tmp_path / "solutions").mkdir(parents=True)
    (tmp_path / "lectures").mkdir()
    shutil.copy(root / "pyproject.toml", tmp_path / "pyproject.toml")
    nb = nb_of(md("# 99 · Demo"), code("", ["setup"]), code("SEED = 0", ["parameters"]), code(solution_source))
    nbformat.write(nb, str(tmp_path / "solutions" / "99_demo.ipynb"))
    return tmp_path


def test_build_writes_lecture_and_check_detects_staleness(tmp_path, root):
    course = make_course(tmp_path, root)
    assert check(course)  # nothing built yet: problems
    assert build(course) == []
    assert check(course) == []
    lecture = nbformat.read(str(course / "lectures" / "99_demo.ipynb"), as_version=4)
    assert lecture.metadata["workbook"] == {"id": "99_demo", "kind": "lecture"}
    assert CODE_PLACEHOLDER[0] in lecture.cells[3].source and "x * 2" not in lecture.cells[3].source
    sol = course / "solutions" / "99_demo.ipynb"
    nb = nbformat.read(str(sol), as_version=4)
    nb.cells[0].source = "# 99 · Demo, renamed"
    nbformat.write(nb, str(sol))
    assert any("stale" in str(p) for p in check(course))
    assert build(course) == [] and check(course) == []


def test_check_flags_outputs_and_leaks(tmp_path, root):
    course = make_course(tmp_path, root, SOLVED + "\n# and outside the region:\nreturn_value = compute_the_real_answer(x)")
    build(course)
    assert check(course) == []
    course2 = make_course(tmp_path / "b", root, SOLVED.replace("return x * 2  # the real answer",
                                                                "value = compute_the_real_answer(x)") +
                          "\nvalue = compute_the_real_answer(x)\n")
    problems = [str(p) for p in build(course2)]
    assert any("appears outside its region" in p for p in problems)


def test_check_flags_outputs_in_committed_lecture(tmp_path, root):
    course = make_course(tmp_path, root)
    build(course)
    lec = course / "lectures" / "99_demo.ipynb"
    nb = nbformat.read(str(lec), as_version=4)
    nb.cells[3].outputs = [nbformat.v4.new_output("stream", text="hi")]
    nbformat.write(nb, str(lec))
    assert any("outputs" in str(p) for p in check(course))


def test_missing_setup_or_parameters_cell_is_an_error(tmp_path, root):
    course = make_course(tmp_path, root)
    sol = course / "solutions" / "99_demo.ipynb"
    nb = nbformat.read(str(sol), as_version=4)
    nb.cells[2].metadata["tags"] = []
    nbformat.write(nb, str(sol))
    assert any("parameters" in str(p) for p in build(course))


def test_orphan_lecture_is_reported(tmp_path, root):
    course = make_course(tmp_path, root)
    build(course)
    shutil.copy(course / "lectures" / "99_demo.ipynb", course / "lectures" / "98_orphan.ipynb")
    assert any("no solutions/ twin" in str(p) for p in check(course))



# -- the committed notebooks ---------------------------------------------------------------
def committed(root):
    return sorted((root / "solutions").glob("*.ipynb")) + sorted((root / "lectures").glob("*.ipynb"))


def test_committed_notebooks_have_no_outputs_or_execution_counts(root):
    for path in committed(root):
        nb = nbformat.read(str(path), as_version=4)
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                assert not cell.outputs, f"{path.name} cell {i} has outputs: run `workbook build`"
                assert cell.execution_count is None, f"{path.name} cell {i} has an execution count"


def test_every_notebook_has_the_skeleton(root):
    setup = setup_cell_source(root)
    for path in committed(root):
        nb = nbformat.read(str(path), as_version=4)
        codes = [c for c in nb.cells if c.cell_type == "code"]
        assert codes[0].source == setup, f"{path.name}: first code cell is not the setup cell"
        assert nb.metadata["workbook"]["id"] == path.stem
        params = [c for c in codes if "parameters" in c.metadata.get("tags", [])]
        assert params and "SEED" in params[0].source, f"{path.name}: no parameters cell with SEED"
        assert any("seed_everything(SEED)" in c.source for c in codes), f"{path.name}: never seeds"
        assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")


def test_repository_lectures_are_built_and_do_not_leak(root):
    assert [str(p) for p in check(root)] == []


PLUMBING = ("METRICS_PATH", "save_metrics", "CHECK_RESULTS", "NBVAL_CHECK_OUTPUT", "getsource", "workbook")


def test_lessons_hold_no_test_or_benchmark_plumbing(root):
    import ast

    for path in committed(root):
        nb = nbformat.read(str(path), as_version=4)
        params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(params) == 1, f"{path.name}: exactly one cell is tagged 'parameters'"
        for stmt in ast.parse(params[0].source).body:  # simple assignments of literals only
            assert isinstance(stmt, ast.Assign) and all(isinstance(t, ast.Name) for t in stmt.targets), (
                f"{path.name}: the parameters cell holds only `NAME = value` lines")
            ast.literal_eval(stmt.value)
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or cell in params or "setup" in cell.metadata.get("tags", []):
                continue
            found = [w for w in PLUMBING if w in cell.source]
            assert not found, f"{path.name} cell {i}: lesson cells hold no test or benchmark plumbing ({found})"
