"""The notebooks run for real, both ways a student's kernel meets the lab.

- nbval runs each notebook alone in a fresh kernel with no lab running, so
  each one starts an embedded emulator and rebuilds earlier steps itself
  (the way nbgrader's autograde runs them).
- nbclient runs the student release, with the answer filled in, in order
  against one emulator started the way ``make lab`` starts it, so state flows
  from notebook to notebook, and searches every output for a secret key.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "solutions" / "deploy-bot"
SECRET_SHAPE = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])")

pytestmark = [pytest.mark.notebook, pytest.mark.slow]


def _clean_env(home):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.pop("DEPLOY_BOT_LAB_DIR", None)
    env["HOME"] = str(home)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env["PATH"]
    return env


def _copy_assignment(tmp_path):
    target = tmp_path / "deploy-bot"
    shutil.copytree(
        SOURCE,
        target,
        ignore=shutil.ignore_patterns(
            "deploy-bot-policy.json", "build", "*-policy.json", ".ipynb_checkpoints"
        ),
    )
    # The task spec is data the notebooks read; mistake files are written by cells.
    shutil.copy2(SOURCE / "task.json", target / "task.json")
    return target


def test_nbval_runs_every_solution_notebook_alone(tmp_path):
    assignment = _copy_assignment(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            "-o",
            "filterwarnings=",
            "-q",
            str(assignment),
        ],
        cwd=tmp_path,
        env=_clean_env(home),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert re.search(r"\b\d+ passed\b", done.stdout)
    assert not (home / ".aws").exists()


@pytest.fixture
def shared_lab(tmp_path):
    lab_dir = tmp_path / "lab"
    home = tmp_path / "home"
    home.mkdir()
    env = _clean_env(home)
    subprocess.run(
        [sys.executable, "-m", "grader.emulator", "start", "--lab-dir", str(lab_dir)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    yield lab_dir, dict(env, DEPLOY_BOT_LAB_DIR=str(lab_dir))
    subprocess.run(
        [sys.executable, "-m", "grader.emulator", "stop", "--lab-dir", str(lab_dir)],
        env=env,
        capture_output=True,
        timeout=60,
    )


def _execute(path, env):
    book = nbformat.read(path, as_version=4)
    client = NotebookClient(
        book,
        timeout=120,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    saved = os.environ.copy()
    os.environ.clear()
    os.environ.update(env)
    try:
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return book


def _errors(book):
    for cell in book.cells:
        expected = "raises-exception" in cell.metadata.get("tags", [])
        failed = any(o.output_type == "error" for o in cell.get("outputs", []))
        if failed != expected and cell.cell_type == "code":
            yield cell.source.splitlines()[0], failed


def _student_release_with_the_answer(tmp_path):
    """The release as a student has it, with the solution typed into the answer."""
    release = tmp_path / "release" / "deploy-bot"
    shutil.copytree(REPO / "notebooks" / "deploy-bot", release)
    source = nbformat.read(SOURCE / "02-write-policy.ipynb", as_version=4)
    answer = next(c for c in source.cells if _grade_id(c) == "policy").source
    book = nbformat.read(release / "02-write-policy.ipynb", as_version=4)
    next(c for c in book.cells if _grade_id(c) == "policy").source = answer
    nbformat.write(book, release / "02-write-policy.ipynb")
    return release


def _grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def test_student_notebooks_in_order_share_one_lab_and_never_show_a_secret(
    shared_lab, tmp_path
):
    lab_dir, env = shared_lab
    release = _student_release_with_the_answer(tmp_path)
    executed = {}
    for path in sorted(release.glob("*.ipynb")):
        executed[path.name] = _execute(path, env)
        assert list(_errors(executed[path.name])) == [], path.name

    secrets = _stored_secrets(lab_dir)
    assert secrets, "the lab stored no secret, so the search below proves nothing"
    for name, book in executed.items():
        text = nbformat.writes(book)
        for secret in secrets:
            assert secret not in text, f"{name} shows a secret access key in full"

    artifacts = REPO / "artifacts" / "notebooks"
    artifacts.mkdir(parents=True, exist_ok=True)
    for name, book in executed.items():
        nbformat.write(book, artifacts / name)


def _stored_secrets(lab_dir):
    return [
        line
        for line in (lab_dir / "access-keys.json").read_text().split('"')
        if SECRET_SHAPE.fullmatch(line)
    ]
