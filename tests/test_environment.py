"""environment.yml installs exactly what pyproject.toml pins."""

import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def _pyproject_pins():
    with open(REPO / "pyproject.toml", "rb") as handle:
        return sorted(tomllib.load(handle)["project"]["dependencies"])


def _environment_pins():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    return sorted(p for p in pip_section if not p.startswith("-e"))


def test_environment_yml_matches_pyproject():
    assert _environment_pins() == _pyproject_pins()


def test_every_dependency_is_pinned_exactly():
    for requirement in _pyproject_pins():
        assert "==" in requirement, requirement


def test_environment_yml_uses_python_311_and_installs_the_project():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip_section
