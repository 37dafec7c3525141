"""The student release is exactly what nbgrader generates, and holds no solution."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "solutions" / "deploy-bot"
RELEASE = REPO / "notebooks" / "deploy-bot"


def _generate(root, release_dir, tmp_path):
    """Run the real nbgrader generate_assignment with the repository's config."""
    env = dict(
        os.environ,
        PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"],
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "nbgrader",
            "generate_assignment",
            "deploy-bot",
            "--force",
            f"--CourseDirectory.root={root}",
            f"--CourseDirectory.release_directory={release_dir}",
            f"--CourseDirectory.db_url=sqlite:///{tmp_path / 'gradebook.db'}",
        ],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(release_dir) / "deploy-bot"


def _files(folder):
    return sorted(
        p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()
    )


def _answer_cell(path):
    book = nbformat.read(path, as_version=4)
    return [c for c in book.cells if c.metadata.get("nbgrader", {}).get("solution")]


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("release")
    return _generate(REPO, tmp / "release", tmp)


def test_release_is_in_sync_with_solutions(regenerated):
    assert _files(regenerated) == _files(RELEASE)
    for name in _files(RELEASE):
        assert (regenerated / name).read_bytes() == (RELEASE / name).read_bytes(), (
            f"notebooks/deploy-bot/{name} is stale: run `make release`"
        )


def test_release_answer_cell_is_a_json_skeleton_that_writes_the_file():
    cells = _answer_cell(RELEASE / "02-write-policy.ipynb")
    assert len(cells) == 1
    magic, _, body = cells[0].source.partition("\n")
    assert magic == "%%writefile deploy-bot-policy.json"
    skeleton = json.loads(body)
    assert skeleton["Version"] == "2012-10-17"
    assert "NotImplementedError" not in body


def test_release_holds_no_solution():
    solution = _answer_cell(SOURCE / "02-write-policy.ipynb")[0].source
    policy_lines = [x.strip() for x in solution.splitlines() if "arn:aws" in x]
    assert policy_lines
    for path in RELEASE.glob("*.ipynb"):
        text = path.read_text()
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS"):
            assert marker not in text, path.name
        answer = "".join(c.source for c in _answer_cell(path))
        for line in policy_lines:
            assert line not in answer, f"{path.name} leaks {line}"
    assert not (RELEASE / "deploy-bot-policy.json").exists()


def test_release_outputs_are_cleared():
    for path in RELEASE.glob("*.ipynb"):
        book = nbformat.read(path, as_version=4)
        for cell in book.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, path.name


def test_policy_file_left_by_a_solution_run_is_not_released(tmp_path):
    course = tmp_path / "course"
    shutil.copytree(REPO / "solutions", course / "solutions")
    (course / "solutions" / "deploy-bot" / "deploy-bot-policy.json").write_text(
        '{"Version": "2012-10-17", "Statement": []}'
    )
    (course / "solutions" / "deploy-bot" / "build").mkdir(exist_ok=True)
    released = _generate(course, tmp_path / "out", tmp_path)
    assert not (released / "deploy-bot-policy.json").exists()
    assert not (released / "build").exists()
    assert (released / "02-write-policy.ipynb").exists()
