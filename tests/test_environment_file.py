"""Install hygiene: environment.yml mirrors pyproject.toml; exactly one pygame flavour is installed."""

from __future__ import annotations

import importlib.metadata as md
import re
import tomllib


def pyproject_specs(root):
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    return project["dependencies"] + project["optional-dependencies"]["dev"]


def environment_specs(root):
    text = (root / "environment.yml").read_text()
    pip_section = text.split("- pip:", 1)[1]
    return [m.group(1).strip() for m in re.finditer(r"^\s+- (.+)$", pip_section, re.M)]


def test_environment_yml_names_the_same_packages_and_pins(root):
    env = [s for s in environment_specs(root) if not s.startswith("-e")]
    assert sorted(env) == sorted(pyproject_specs(root))
    assert "-e ." in environment_specs(root)
    assert re.search(r"^\s+- python=3\.11$", (root / "environment.yml").read_text(), re.M)


def test_exactly_one_pygame_is_installed():
    names = {d.metadata["Name"].lower() for d in md.distributions()}
    flavours = {"pygame", "pygame-ce"} & names
    assert flavours == {"pygame-ce"}, (
        f"found {sorted(flavours)}: gymnasium[classic-control] brings pygame-ce; pygame and pygame-ce "
        "overwrite each other — `pip uninstall pygame pygame-ce` then reinstall with `make install`")


def test_torch_is_the_pinned_release():
    assert md.version("torch").startswith("2.13.")
    assert md.version("gymnasium").startswith("1.4.")
