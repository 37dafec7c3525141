"""Grading a class: nbgrader's collect, autograde, feedback and export in one run.

The run works in a course directory of its own under the output folder:
the instructor's source is copied in (without anything a solution run left
behind), each student's submission is copied into ``submitted/``, and
nbgrader is run as a separate process for each phase, so that a failure
of nbgrader itself is reported instead of taking the caller down.
"""

import csv
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

from grader.autograde import IGNORED_FILES, write_course_config

log = logging.getLogger(__name__)
ASSIGNMENT = "deploy-bot"


class GradingSetupError(Exception):
    """The grading run cannot start: bad input folder, source, or nbgrader."""


@dataclass
class ClassGrades:
    """What a grading run produced."""

    grades_csv: Path
    feedback_dir: Path
    scores: dict = field(default_factory=dict)
    max_score: float = 0.0


def find_students(submissions_dir, assignment=ASSIGNMENT):
    """Map student id to submission folder in nbgrader's layout.

    Accepts ``DIR/submitted/<student>/<assignment>/``, ``DIR/<student>/<assignment>/``
    and ``DIR/<student>/`` holding the notebooks directly.
    """
    root = Path(submissions_dir)
    if not root.is_dir():
        raise GradingSetupError(f"{root} is not a folder of submissions")
    if (root / "submitted").is_dir():
        root = root / "submitted"
    students = {}
    for entry in sorted(p for p in root.iterdir() if p.is_dir()):
        nested = entry / assignment
        students[entry.name] = nested if nested.is_dir() else entry
    if not students:
        raise GradingSetupError(f"{root} holds no student folders")
    return students


def _copy_without_ignored(source, destination):
    def ignore(directory, names):
        return {n for n in names if any(fnmatch(n, p) for p in IGNORED_FILES)}

    shutil.copytree(source, destination, ignore=ignore, dirs_exist_ok=True)


def _nbgrader(course_dir, *args, check=True):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.pop("DEPLOY_BOT_LAB_DIR", None)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    log.info("nbgrader %s", " ".join(args))
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course_dir,
        env=env,
        capture_output=True,
        text=True,
    )
    (Path(course_dir) / "logs").mkdir(exist_ok=True)
    with open(Path(course_dir) / "logs" / f"{args[0]}.log", "a") as handle:
        handle.write(done.stdout + done.stderr)
    if check and done.returncode != 0:
        raise GradingSetupError(
            f"nbgrader {args[0]} failed; see {course_dir}/logs/{args[0]}.log"
        )
    return done


def grade_class(submissions_dir, out_dir, source_dir, assignment=ASSIGNMENT):
    """Grade every student in ``submissions_dir``; write grades and feedback.

    Returns a ClassGrades with the CSV's path, the feedback folder and the scores.
    """
    students = find_students(submissions_dir, assignment)
    source = Path(source_dir) / assignment
    if not source.is_dir():
        raise GradingSetupError(f"no assignment source at {source}")
    out_dir = Path(out_dir).resolve()
    course = out_dir / "course"
    course.mkdir(parents=True, exist_ok=True)
    write_course_config(course)

    log.info("preparing the course in %s", course)
    _copy_without_ignored(source, course / "source" / assignment)
    _nbgrader(course, "generate_assignment", assignment, "--force")
    for student, folder in students.items():
        _nbgrader(course, "db", "student", "add", student)
        target = course / "submitted" / student / assignment
        shutil.rmtree(target, ignore_errors=True)
        _copy_without_ignored(folder, target)

    log.info("autograding %d submissions", len(students))
    _nbgrader(course, "autograde", assignment, "--force", check=False)
    _nbgrader(course, "generate_feedback", assignment, "--force", check=False)
    grades_csv = out_dir / "grades.csv"
    _nbgrader(course, "export", "--to", str(grades_csv))
    feedback_dir = out_dir / "feedback"
    _collect_feedback(course / "feedback", feedback_dir, assignment)
    return _read_grades(grades_csv, feedback_dir, assignment)


def _collect_feedback(course_feedback, feedback_dir, assignment):
    shutil.rmtree(feedback_dir, ignore_errors=True)
    for page in sorted(course_feedback.glob(f"*/{assignment}/*.html")):
        student = page.parent.parent.name
        (feedback_dir / student).mkdir(parents=True, exist_ok=True)
        shutil.copy2(page, feedback_dir / student / page.name)


def _read_grades(grades_csv, feedback_dir, assignment):
    result = ClassGrades(grades_csv=grades_csv, feedback_dir=feedback_dir)
    with open(grades_csv, newline="") as handle:
        for row in csv.DictReader(handle):
            if row["assignment"] != assignment:
                continue
            result.scores[row["student_id"]] = float(row["score"] or 0)
            result.max_score = float(row["max_score"] or 0)
    return result
