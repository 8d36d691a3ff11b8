"""The README lists every notebook, in order, with a Colab link, and names the test command."""

from __future__ import annotations

import re
import tomllib


def test_every_lecture_is_in_the_readme_table_in_order(root):
    readme = (root / "README.md").read_text(encoding="utf-8")
    url = tomllib.loads((root / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
    colab = "https://colab.research.google.com/github/" + url.split("github.com/")[1]
    listed = re.findall(r"^\| (\d\d) \| \[[^]]+\]\(lectures/(\w+)\.ipynb\) \| .+ \| \[open\]\((\S+)\) \|$", readme, re.M)
    lectures = sorted(p.stem for p in (root / "lectures").glob("*.ipynb"))
    assert [name for _, name, _ in listed] == lectures
    for number, name, link in listed:
        assert name.startswith(number)
        assert link == f"{colab}/blob/main/lectures/{name}.ipynb"


def test_readme_names_the_two_commands_and_ci_runs_the_test_command(root):
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert "make lab" in readme and "make test" in readme
    assert "make test" in (root / ".ci" / "run").read_text()
