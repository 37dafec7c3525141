"""Grading a class: every submission autograded in parallel, scored by the grader.

A run works in the output folder:

- ``course/``: the instructor's source and a gradebook made once by
  ``nbgrader generate_assignment`` (kept as ``template.db``); at the end the
  class's gradebook ``gradebook.db`` is rebuilt from it and the results, and
  nbgrader's own CSV exporter writes ``grades.csv`` from it.
- ``staging/<student>/``: each submission as taken in (see grader.collect).
- ``work/<student>/<attempt>/``: a course of its own per submission (gradebook copy,
  config, kernels' runtime folder, lab emulator and its snapshots), so that
  parallel runs share nothing and one student's files cannot reach another's.
- ``results/<student>.json``: the finished result; a rerun skips every
  student whose staged submission is unchanged, so an interrupted run
  resumes where it stopped and gives the same grades.

Each submission gets a fresh emulator owned by this process; its notebooks
run in nbgrader's autograde with ``DEPLOY_BOT_LAB_DIR`` pointing at it.  The
score that counts is the grader's (grader.authority); nbgrader's in-notebook
score is kept beside it, and a row where they differ is flagged for review.

Known gap: the kernels run as the grader's own user.  A submission that goes
looking for the grader's files on disk is not stopped by anything here; run
the grader in a container or as a throw-away user for that.
"""

import csv
import hashlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import SAWarning

from grader import authority, feedback
from grader.autograde import SNAPSHOT_SUFFIX, write_course_config
from grader.collect import (
    CollectError,
    find_student_folders,
    release_grade_ids,
    stage_submission,
)
from grader.progress import Progress
from grader.task import TaskSpecError, load_task

log = logging.getLogger(__name__)
ASSIGNMENT = "deploy-bot"
RESULT_VERSION = 1


class GradingSetupError(Exception):
    """The grading run cannot start: bad input folder, source, or nbgrader."""


@dataclass(frozen=True)
class Settings:
    """How each submission is run."""

    cell_timeout: int = 60
    submission_timeout: int = 900
    workers: int = 0
    transport: str = "ipc"


@dataclass
class ClassGrades:
    """What a grading run produced."""

    grades_csv: Path
    checkpoints_csv: Path
    feedback_dir: Path
    rows: list = field(default_factory=list)
    scores: dict = field(default_factory=dict)
    max_score: float = 0.0
    resumed: int = 0

    @property
    def zero_scored(self):
        """Rows that scored zero; each has a reason."""
        return [r for r in self.rows if r["score"] == 0]

    @property
    def review(self):
        """Rows flagged for manual review."""
        return [r for r in self.rows if r["review"]]


def find_students(submissions_dir, assignment=ASSIGNMENT, scratch_dir=None):
    """Map student id to submission folder (see grader.collect)."""
    scratch = scratch_dir or tempfile.mkdtemp(prefix="deploy-bot-collect-")
    try:
        return find_student_folders(submissions_dir, assignment, scratch)
    except CollectError as error:
        raise GradingSetupError(str(error)) from error


def grading_environment(extra=None):
    """This process's environment without AWS settings or a lab, venv first on PATH.

    nbgrader runs ``alembic`` from PATH, and a student's kernel must start its
    lab from scratch, never from the instructor's own AWS configuration.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.pop("DEPLOY_BOT_LAB_DIR", None)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(extra or {})
    return env


def _nbgrader(course_dir, *args, env=None, timeout=None):
    """Run one nbgrader command in ``course_dir``; log its output there."""
    log.info("nbgrader %s in %s", " ".join(args), course_dir)
    process = subprocess.Popen(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course_dir,
        env=env or grading_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        timed_out = True
    (Path(course_dir) / f"{args[0]}.log").write_text(output)
    return process.returncode, output, timed_out


def _ungraded_notebooks(folder, names):
    """Notebooks with no graded cell: they earn no points, so grading skips them.

    Running them would only cost time (the deploy and stretch-goal notebooks
    make most of the lab's aws calls); their feedback page says so.
    """
    return {
        name
        for name in names
        if name.endswith(".ipynb") and not _has_grade_cell(Path(folder) / name)
    }


def _has_grade_cell(path):
    book = json.loads(path.read_text(encoding="utf-8"))
    return any(
        cell.get("metadata", {}).get("nbgrader", {}).get("grade")
        for cell in book.get("cells", [])
    )


def prepare_course(out_dir, source, assignment):
    """The run's course folder, with the gradebook made by generate_assignment."""
    course = out_dir / "course"
    template = course / "template.db"
    if template.exists():
        return course
    shutil.rmtree(course, ignore_errors=True)
    course.mkdir(parents=True)
    write_course_config(course)
    shutil.copytree(source, course / "source" / assignment, ignore=_ungraded_notebooks)
    code, _, _ = _nbgrader(course, "generate_assignment", assignment, "--force")
    if code != 0 or not (course / "gradebook.db").exists():
        raise GradingSetupError(
            "nbgrader generate_assignment failed on the source; see "
            f"{course}/generate_assignment.log and fix the source notebooks"
        )
    shutil.copy2(course / "gradebook.db", template)
    return course


def grade_class(
    submissions_dir,
    out_dir,
    source_dir,
    assignment=ASSIGNMENT,
    settings=Settings(),
    progress_stream=None,
):
    """Grade every student in ``submissions_dir``; write grades and feedback."""
    out_dir = Path(out_dir).resolve()
    source = Path(source_dir).resolve() / assignment
    if not (source / "task.json").is_file():
        raise GradingSetupError(
            f"no assignment source at {source}: pass --source, the folder "
            f"holding {assignment}/ with its notebooks and task.json"
        )
    try:
        task = load_task(source / "task.json")
    except TaskSpecError as error:
        raise GradingSetupError(f"{source}/task.json: {error}") from error
    out_dir.mkdir(parents=True, exist_ok=True)
    intake = out_dir / "intake"
    folders = {
        student: folder
        for student, folder in find_students(
            submissions_dir, assignment, intake
        ).items()
        if not _inside_output(Path(folder).resolve(), out_dir, intake)
    }
    if not folders:
        raise GradingSetupError(f"no student submissions found in {submissions_dir}")
    course = prepare_course(out_dir, source, assignment)
    context = _Context(out_dir, course, source, task, assignment, settings)

    log.info("grading %d submissions", len(folders))
    rows, resumed = _grade_all(context, folders, progress_stream)
    return _write_outputs(context, rows, resumed)


def _inside_output(folder, out_dir, intake):
    """Whether a found folder is this run's output (an --out inside SUBMISSIONS)."""
    inside = folder == out_dir or out_dir in folder.parents
    return inside and intake not in folder.parents


@dataclass
class _Context:
    out_dir: Path
    course: Path
    source: Path
    task: object
    assignment: str
    settings: Settings

    def __post_init__(self):
        self.release_names = release_grade_ids(self.source)
        self.owners = authority.grading_notebooks(self.source)
        self.results = self.out_dir / "results"
        self.results.mkdir(exist_ok=True)


def _grade_all(context, folders, progress_stream):
    staged = {}
    for student, folder in folders.items():
        target = context.out_dir / "staging" / student
        staged[student] = stage_submission(
            student, folder, target, context.release_names
        )
    rows, todo = {}, []
    for student, submission in staged.items():
        previous = _load_result(context, submission)
        if previous is not None:
            rows[student] = previous
        else:
            todo.append(submission)
    resumed = len(rows)
    if resumed:
        log.info("resuming: %d of %d already graded", resumed, len(staged))

    progress = Progress(len(staged), progress_stream)
    for row in rows.values():
        progress.advance(row["student"], f"{_outcome(row)} (earlier run)")
    workers = context.settings.workers or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(_grade_safely, context, s): s for s in todo}
        for future in as_completed(futures):
            row = future.result()
            rows[row["student"]] = row
            progress.advance(row["student"], _outcome(row))
    progress.finish()
    return [rows[s] for s in sorted(rows)], resumed


def _outcome(row):
    text = f"{row['score']:g}/{row['max_score']:g}"
    return text + (" review" if row["review"] else "")


def _fingerprint(submission):
    digest = hashlib.sha256(str(RESULT_VERSION).encode())
    for path in sorted(submission.folder.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(submission.folder)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _load_result(context, submission):
    path = context.results / f"{submission.student}.json"
    try:
        row = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return row if row.get("fingerprint") == _fingerprint(submission) else None


def _grade_safely(context, submission):
    """Grade one submission; a crash of the grader becomes a row for review."""
    try:
        row = grade_submission(context, submission)
    except Exception as error:
        log.exception("grading %s crashed", submission.student)
        row = _row(context, submission, [], None)
        row["score"] = 0.0
        row["notes"].append(f"the grader crashed on this submission ({error})")
        row["review"] = True
        return row
    path = context.results / f"{submission.student}.json"
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(row, indent=1, sort_keys=True))
    os.replace(temporary, path)
    return row


def grade_submission(context, submission):
    """Run one submission's notebooks against its own emulator and score it."""
    from grader.emulator import start_embedded

    # A folder per attempt: what an interrupted earlier run left running
    # can only write into its own attempt, never into this one's snapshots.
    student_work = context.out_dir / "work" / submission.student
    shutil.rmtree(student_work, ignore_errors=True)
    work = student_work / uuid.uuid4().hex[:8]
    snapshots = work / "snapshots"
    snapshots.mkdir(parents=True)
    in_notebook = None
    if submission.notebooks:
        runtime = Path(tempfile.mkdtemp(prefix="dbg-"))
        course = _student_course(context, submission, work, runtime)
        lab = start_embedded(work / "lab")
        env = grading_environment(
            {
                "DEPLOY_BOT_LAB_DIR": str(lab.lab_dir),
                "JUPYTER_RUNTIME_DIR": str(runtime),
            }
        )
        try:
            code, output, timed_out = _nbgrader(
                course,
                "autograde",
                context.assignment,
                f"--student={submission.student}",
                "--force",
                env=env,
                timeout=context.settings.submission_timeout,
            )
        finally:
            lab.close()
            shutil.rmtree(runtime, ignore_errors=True)
        submission.notes.extend(_execution_notes(snapshots, output))
        if timed_out:
            submission.notes.append(
                f"stopped after {context.settings.submission_timeout} s, "
                "the time limit of a submission"
            )
        in_notebook = _in_notebook_scores(course, context.assignment, submission)
    results = authority.judge_submission(
        context.task, submission.folder, snapshots, context.owners
    )
    return _row(context, submission, results, in_notebook)


def _student_course(context, submission, work, runtime):
    course = work / "course"
    (course / "source").mkdir(parents=True)
    shutil.copytree(
        context.course / "source" / context.assignment,
        course / "source" / context.assignment,
    )
    shutil.copy2(context.course / "template.db", course / "gradebook.db")
    write_course_config(
        course,
        cell_timeout=context.settings.cell_timeout,
        snapshot_dir=work / "snapshots",
        lab_dir=work / "lab",
        task_file=context.source / "task.json",
        transport=context.settings.transport,
        runtime_dir=runtime if context.settings.transport == "ipc" else None,
    )
    target = course / "submitted" / submission.student / context.assignment
    shutil.copytree(submission.folder, target)
    return course


def _execution_notes(snapshots, output):
    notes = []
    for path in sorted(snapshots.glob(f"*{SNAPSHOT_SUFFIX}")):
        record = json.loads(path.read_text())
        if record.get("failure"):
            notes.append(f"{record['notebook']}.ipynb: {record['failure']}")
    interrupted = output.count("Timeout waiting for execute reply")
    if interrupted:
        notes.append(f"{interrupted} cell(s) ran past the time limit and were stopped")
    return notes


def _in_notebook_scores(course, assignment, submission):
    """nbgrader's score of each grade cell, None where it gave none."""
    from nbgrader.api import Gradebook, MissingEntry

    scores = {}
    try:
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            found = gb.find_submission(assignment, submission.student)
            for notebook in found.notebooks:
                for grade in notebook.grades:
                    scores[grade.name] = grade.score
    except MissingEntry:
        return None
    return scores


def _row(context, submission, results, in_notebook):
    score = sum(r.earned for r in results)
    max_score = context.task.total_points
    row = {
        "student": submission.student,
        "score": score,
        "max_score": max_score,
        "checkpoints": authority.results_to_data(results),
        "notes": list(submission.notes),
        "in_notebook": in_notebook,
        "review": False,
        "fingerprint": _fingerprint(submission),
    }
    _flag_review(row)
    return row


def _flag_review(row):
    if any(n.startswith("stopped after") for n in row["notes"]):
        row["review"] = True
    scores = row["in_notebook"]
    if scores is None:
        if row["notes"] and "no notebook was submitted" in row["notes"]:
            return
        row["review"] = True
        row["notes"].append("nbgrader could not grade this submission")
        return
    graded = {c["id"]: c["earned"] for c in row["checkpoints"]}
    missing = [cid for cid in graded if scores.get(cid) is None]
    theirs = sum(v or 0 for v in scores.values())
    if missing:
        row["review"] = True
        row["notes"].append(
            "nbgrader found no test cell for " + ", ".join(sorted(missing))
        )
    if abs(theirs - row["score"]) > 1e-9:
        row["review"] = True
        row["notes"].append(
            f"the notebook's own score {theirs:g} differs from the grader's "
            f"{row['score']:g}"
        )


def _write_outputs(context, rows, resumed):
    out = context.out_dir
    grades_csv = out / "grades.csv"
    _export_gradebook(context, rows, grades_csv)
    checkpoints_csv = out / "checkpoints.csv"
    _write_checkpoints_csv(context, rows, checkpoints_csv)
    feedback_dir = out / "feedback"
    shutil.rmtree(feedback_dir, ignore_errors=True)
    for row in rows:
        feedback.write_feedback(row, sorted(context.release_names), feedback_dir)
    result = ClassGrades(grades_csv, checkpoints_csv, feedback_dir, rows=rows)
    result.scores = {r["student"]: r["score"] for r in rows}
    result.max_score = context.task.total_points
    result.resumed = resumed
    return result


def _export_gradebook(context, rows, grades_csv):
    """Rebuild the class gradebook from the results; export it with nbgrader."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin

    db = context.course / "gradebook.db"
    shutil.copy2(context.course / "template.db", db)
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{db}") as gb:
        # nbgrader's add_submission trips SQLAlchemy's autoflush warning.
        warnings.simplefilter("ignore", SAWarning)
        for row in rows:
            gb.update_or_create_student(row["student"])
            gb.update_or_create_submission(context.assignment, row["student"])
            for check in row["checkpoints"]:
                grade = gb.find_grade(
                    check["id"], check["notebook"], context.assignment, row["student"]
                )
                auto = (row["in_notebook"] or {}).get(check["id"])
                grade.auto_score = auto
                grade.manual_score = check["earned"]
        gb.db.commit()
        CsvExportPlugin(to=str(grades_csv)).export(gb)


def _write_checkpoints_csv(context, rows, path):
    ids = [c.id for c in context.task.checkpoints]
    header = ["student_id", "score", "max_score", *ids]
    header += ["in_notebook_score", "review", "diagnosis", "notes"]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            earned = {c["id"]: c["earned"] for c in row["checkpoints"]}
            theirs = row["in_notebook"]
            writer.writerow(
                [
                    row["student"],
                    f"{row['score']:g}",
                    f"{row['max_score']:g}",
                    *(f"{earned.get(i, 0):g}" for i in ids),
                    ""
                    if theirs is None
                    else f"{sum(v or 0 for v in theirs.values()):g}",
                    "yes" if row["review"] else "",
                    main_diagnosis(row),
                    "; ".join(row["notes"]),
                ]
            )


def main_diagnosis(row):
    """The first failing checkpoint's diagnosis code, or '' if all pass.

    A checkpoint of a notebook that was not run says less about the work
    than one that was, so it comes last.
    """
    failing = [c for c in row["checkpoints"] if c["earned"] != c["points"]]
    failing.sort(key=lambda c: c["code"] == authority.NOT_RUN)
    return (failing[0]["code"] or "failed") if failing else ""


def reason(row):
    """Why a row scored what it did, in one line."""
    if row["notes"]:
        return row["notes"][0]
    for check in row["checkpoints"]:
        if check["earned"] != check["points"]:
            return f"{check['code']}: {check['message']}"
    return "all checkpoints passed"
