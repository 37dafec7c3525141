"""Grading the small class in tests/data/submissions end to end, with real nbgrader."""

import csv
import filecmp
import html
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import classroom

pytestmark = [pytest.mark.slow]


def test_committed_class_is_what_the_builder_makes(tmp_path, request):
    if request.config.getoption("--update-golden"):
        classroom.build_class()
    classroom.build_class(tmp_path)
    for student in classroom.STUDENTS:
        ours = tmp_path / student / "deploy-bot"
        committed = classroom.CLASS_DIR / student / "deploy-bot"
        names = sorted(p.name for p in ours.iterdir())
        assert names == sorted(p.name for p in committed.iterdir()), student
        _, mismatch, errors = filecmp.cmpfiles(ours, committed, names, shallow=False)
        assert mismatch == errors == [], (
            f"{student}: {mismatch} differ; run pytest --update-golden"
        )


def _env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.pop("DEPLOY_BOT_LAB_DIR", None)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env["PATH"]
    return env


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    out = tmp_path_factory.mktemp("graded")
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "grade",
            str(classroom.CLASS_DIR),
            "--out",
            str(out),
        ],
        cwd=classroom.REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    elapsed = time.monotonic() - started
    print(f"graded {len(classroom.STUDENTS)} submissions in {elapsed:.1f} s")
    return out, done


def _scores(grades_csv):
    with open(grades_csv, newline="") as handle:
        return {
            row["student_id"]: (float(row["score"]), float(row["max_score"]))
            for row in csv.DictReader(handle)
        }


def test_grade_writes_a_row_per_student(graded):
    out, done = graded
    assert (out / "grades.csv").exists(), done.stderr[-3000:]
    assert set(_scores(out / "grades.csv")) == set(classroom.STUDENTS)


@pytest.mark.parametrize("student", list(classroom.STUDENTS))
def test_each_student_gets_the_score_their_work_earns(graded, student):
    out, _ = graded
    score, max_score = _scores(out / "grades.csv")[student]
    assert max_score == 10
    assert score == classroom.STUDENTS[student][3]


@pytest.mark.parametrize("student", list(classroom.STUDENTS))
def test_feedback_names_the_diagnosis(graded, student):
    out, _ = graded
    pages = sorted((out / "feedback" / student).glob("*.html"))
    assert [p.name for p in pages] == [
        p.with_suffix(".html").name for p in sorted(classroom.RELEASE.glob("*.ipynb"))
    ]
    text = "\n".join(p.read_text() for p in pages)
    for code in classroom.STUDENTS[student][4]:
        assert code in text, f"{student}'s feedback does not mention {code}"
    assert "Traceback (most recent call last)" not in text


def test_planted_solution_file_does_not_reach_the_graded_copy(graded):
    out, _ = graded
    copies = list((out / "work" / "plantedfile").glob("*/course/autograded"))
    graded_copy = copies[0] / "plantedfile" / "deploy-bot"
    assert graded_copy.is_dir()
    planted = (
        classroom.CLASS_DIR / "plantedfile" / "deploy-bot" / "deploy-bot-policy.json"
    )
    copied = graded_copy / "deploy-bot-policy.json"
    assert not copied.exists() or copied.read_text() != planted.read_text()


def test_checkpoints_csv_agrees_with_grades_csv(graded):
    out, _ = graded
    with open(out / "checkpoints.csv", newline="") as handle:
        rows = {r["student_id"]: r for r in csv.DictReader(handle)}
    for student, (score, _) in _scores(out / "grades.csv").items():
        assert float(rows[student]["score"]) == score
        assert rows[student]["review"] == "", rows[student]["notes"]


def test_the_complete_solution_does_not_leak_into_feedback(graded):
    out, _ = graded
    solution = classroom._solution_text().partition("\n")[2]
    lines = [
        line.strip().rstrip(",")
        for line in solution.splitlines()
        if '"Sid"' in line or "arn:" in line
    ]
    for page in (out / "feedback" / "complete").glob("*.html"):
        text = page.read_text()
        for fragment in [solution, *lines]:
            assert fragment not in text and html.escape(fragment) not in text, page
