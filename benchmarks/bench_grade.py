"""How fast a class is graded: stock nbgrader, ``grader grade``, and the floor.

Builds a class of N submissions (default 40, cycling through the students of
``tests/data/submissions``), then times, in one run:

- stock ``nbgrader autograde`` over the whole class, sequential, each kernel
  starting its own embedded emulator (the course of ``grader.autograde``
  without its preprocessors);
- ``python -m grader grade`` over the same class, in parallel;
- the floor: a bare nbclient execution of the same notebooks, one emulator
  per submission, in parallel across the same number of workers, no grading.

Usage: ``python benchmarks/bench_grade.py [N] [--workers W]``
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from grader.batch import grading_environment  # noqa: E402
from tests import classroom  # noqa: E402

ASSIGNMENT = "deploy-bot"
STOCK_CONFIG = """\
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "deploy-bot-lab"
c.CourseDirectory.root = {root!r}
c.CourseDirectory.db_url = "sqlite:///{root}/gradebook.db"
c.CourseDirectory.ignore = {ignore!r}
c.Execute.timeout = 60
"""


def build(target, count):
    """A class of ``count`` submissions, copies of the test class's students."""
    students = sorted(classroom.STUDENTS)
    for index in range(count):
        source = classroom.CLASS_DIR / students[index % len(students)]
        shutil.copytree(source, target / f"s{index:03d}")
    return target


def time_stock(class_dir, work):
    """Seconds for stock sequential ``nbgrader autograde`` of the class."""
    from grader.autograde import IGNORED_FILES

    course = work / "stock"
    course.mkdir()
    (course / "nbgrader_config.py").write_text(
        STOCK_CONFIG.format(root=str(course), ignore=IGNORED_FILES)
    )
    shutil.copytree(classroom.SOLUTIONS, course / "source" / ASSIGNMENT)
    _nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    for student in sorted(class_dir.iterdir()):
        shutil.copytree(
            student / ASSIGNMENT, course / "submitted" / student.name / ASSIGNMENT
        )
    started = time.monotonic()
    _nbgrader(course, "autograde", ASSIGNMENT, "--force")
    return time.monotonic() - started


def _nbgrader(course, *args):
    subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=grading_environment(),
        capture_output=True,
        check=False,
    )


def time_grader(class_dir, work, workers):
    """Seconds for ``python -m grader grade`` of the class, set-up included."""
    started = time.monotonic()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "grade",
            str(class_dir),
            "--out",
            str(work / "graded"),
            "--workers",
            str(workers),
        ],
        cwd=REPO,
        env=grading_environment(),
        capture_output=True,
        check=False,
    )
    return time.monotonic() - started


def _execute_submission(folder):
    import nbformat
    from nbclient import NotebookClient

    from grader.emulator import start_embedded

    run_dir = Path(tempfile.mkdtemp(prefix="bench-floor-"))
    for path in sorted(Path(folder).glob("*")):
        if path.is_file() and path.name != "deploy-bot-policy.json":
            shutil.copy2(path, run_dir / path.name)
    lab = start_embedded(run_dir / "lab")
    os.environ["DEPLOY_BOT_LAB_DIR"] = str(lab.lab_dir)
    try:
        for notebook in sorted(run_dir.glob("*.ipynb")):
            book = nbformat.read(notebook, as_version=4)
            client = NotebookClient(
                book,
                timeout=60,
                allow_errors=True,
                resources={"metadata": {"path": str(run_dir)}},
            )
            client.execute()
    finally:
        lab.close()
        shutil.rmtree(run_dir, ignore_errors=True)


def time_floor(class_dir, workers):
    """Seconds for a bare nbclient run of every submission, in parallel."""
    folders = [s / ASSIGNMENT for s in sorted(class_dir.iterdir())]
    started = time.monotonic()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        list(pool.map(_execute_submission, folders))
    return time.monotonic() - started


def main(argv=None):
    """Build the class, time the three runs, print seconds per submission."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=40)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    os.environ["PATH"] = grading_environment()["PATH"]
    with tempfile.TemporaryDirectory(prefix="bench-grade-") as scratch:
        work = Path(scratch)
        class_dir = build(work / "class", args.count)
        stock = time_stock(class_dir, work) / args.count
        ours = time_grader(class_dir, work, args.workers) / args.count
        floor = time_floor(class_dir, args.workers) / args.count
    print(f"submissions: {args.count}, workers: {args.workers}")
    print(f"stock nbgrader autograde: {stock:.1f} s per submission")
    print(f"python -m grader grade:   {ours:.1f} s per submission")
    print(f"floor (bare nbclient):    {floor:.1f} s per submission")
    print(f"grader / stock: {ours / stock:.2f} (goal <= 0.55)")
    print(f"grader / floor: {ours / floor:.2f} (goal <= 1.3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
