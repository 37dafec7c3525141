"""The nbgrader course a grading run uses, and the preprocessors it needs.

Each submission is autograded in a course directory of its own, whose
``nbgrader_config.py`` is written by :func:`write_course_config`, so that
parallel runs never share a gradebook, a kernel port or a lab emulator.
"""

import json
import logging
from pathlib import Path

import nbformat
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader.preprocessors import DeduplicateIds, Execute
from traitlets import Unicode

log = logging.getLogger(__name__)

# What a run of the solutions or of a student leaves beside the notebooks.
# None of it may travel from the source into the release or into an
# autograded copy, where it would stand in for the student's own work.
# A ``grader`` package or module beside the notebooks would shadow the
# installed grader inside the kernel, so it never travels either.
IGNORED_FILES = [
    ".ipynb_checkpoints",
    "*.pyc",
    "__pycache__",
    "feedback",
    "deploy-bot-policy.json",
    "mistake-policy.json",
    "widened-policy.json",
    "build",
    "grader",
    "grader.py",
]

SNAPSHOT_SUFFIX = ".state.json"


class DropDuplicateIds(DeduplicateIds):
    """Strip nbgrader metadata from a repeated cell instead of aborting.

    The stock preprocessor blanks the metadata of the second copy of a grade
    or solution cell, which nbgrader then rejects as an old schema and stops
    the whole batch.  Deleting the key makes the copy an ordinary cell.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is None:
            return cell, resources
        if grade_id in self.grade_ids:
            self.log.warning(
                "Cell %r appears more than once; ignoring the copy", grade_id
            )
            del cell.metadata["nbgrader"]
            return cell, resources
        self.grade_ids.add(grade_id)
        return cell, resources


class ExecuteAndSnapshot(Execute):
    """Execute a notebook, survive its kernel, then record the lab's state.

    A kernel that dies or ignores the interrupt after a cell timeout makes
    the stock preprocessor fail the whole submission, so that the later
    notebooks are never run.  Here the cells that did not run get an error
    output (nbgrader scores them zero) and grading goes on.  Once the kernel
    is gone, the lab's state is read from this process, not the kernel's,
    and written to ``snapshot_dir/<notebook>.state.json``.
    """

    snapshot_dir = Unicode("", help="where lab snapshots are written").tag(config=True)
    lab_dir = Unicode("", help="the submission's lab directory").tag(config=True)
    task_file = Unicode("", help="the instructor's task.json").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        failure = None
        try:
            nb, resources = super().preprocess(nb, resources, km)
        except (CellTimeoutError, DeadKernelError, RuntimeError, OSError) as error:
            failure = _failure_text(error)
            self.log.warning("execution stopped: %s", failure)
            _mark_unrun_cells(nb, failure)
        self._snapshot(resources.get("unique_key", "notebook"), failure)
        return nb, resources

    def _snapshot(self, notebook, failure):
        if not self.snapshot_dir:
            return
        record = {"notebook": notebook, "failure": failure, "state": None}
        try:
            record["state"] = _read_state(self.lab_dir, self.task_file)
        except Exception as error:  # the emulator itself may have been killed
            record["state_error"] = f"{type(error).__name__}: {error}"
        path = Path(self.snapshot_dir) / f"{notebook}{SNAPSHOT_SUFFIX}"
        path.write_text(json.dumps(record, indent=1, sort_keys=True))


def _failure_text(error):
    if isinstance(error, DeadKernelError):
        return "the kernel died (the notebook ended its own process)"
    if isinstance(error, CellTimeoutError):
        return "a cell ran past the time limit and ignored the interrupt"
    return f"execution failed ({type(error).__name__})"


def _mark_unrun_cells(nb, failure):
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.get("execution_count") is None:
            cell.outputs = [
                nbformat.v4.new_output(
                    "error",
                    ename="NotRun",
                    evalue=f"not run: {failure}",
                    traceback=[f"not run: {failure}"],
                )
            ]


def _read_state(lab_dir, task_file):
    from dataclasses import asdict

    from grader.emulator import Lab, status
    from grader.labstate import read_lab_state
    from grader.task import load_task

    info = status(lab_dir)
    if info is None:
        raise RuntimeError("the submission's emulator is not running")
    state = read_lab_state(Lab(Path(lab_dir), info.endpoint), load_task(task_file))
    return asdict(state)


CONFIG_TEMPLATE = '''\
"""nbgrader configuration of a grading run (written by grader.autograde)."""

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties, CheckCellMetadata, ClearOutput, IgnorePattern,
    LimitOutput, OverwriteCells, OverwriteKernelspec, SaveAutoGrades,
)
from grader.autograde import DropDuplicateIds, ExecuteAndSnapshot

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "deploy-bot-lab"
c.CourseDirectory.root = {root!r}
c.CourseDirectory.db_url = {db_url!r}
c.CourseDirectory.ignore = {ignore!r}
c.Execute.timeout = {cell_timeout}
c.Autograde.sanitize_preprocessors = [
    ClearOutput, DropDuplicateIds, OverwriteKernelspec, OverwriteCells,
    CheckCellMetadata,
]
c.Autograde.autograde_preprocessors = [
    ExecuteAndSnapshot, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
    SaveAutoGrades, AssignLatePenalties, CheckCellMetadata,
]
c.ExecuteAndSnapshot.snapshot_dir = {snapshot_dir!r}
c.ExecuteAndSnapshot.lab_dir = {lab_dir!r}
c.ExecuteAndSnapshot.task_file = {task_file!r}
# A stray warning on stderr must not zero a test cell that passed.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = {ignore_pattern!r}
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 20
# Kernels talk over Unix sockets in a runtime folder of their own (an
# absolute path: the kernel runs in the notebook's folder): TCP ports picked
# by one run can be taken by another before the kernel binds them.
c.KernelManager.transport = {transport!r}
c.KernelManager.ip = {kernel_ip!r}
'''

IGNORE_PATTERN = r"(?i)warning"


def write_course_config(
    course_dir,
    cell_timeout=60,
    snapshot_dir="",
    lab_dir="",
    task_file="",
    transport="ipc",
    runtime_dir=None,
):
    """Write the grading course's nbgrader_config.py and return its path."""
    course_dir = Path(course_dir).resolve()
    path = course_dir / "nbgrader_config.py"
    path.write_text(
        CONFIG_TEMPLATE.format(
            root=str(course_dir),
            db_url="sqlite:///" + str(course_dir / "gradebook.db"),
            ignore=IGNORED_FILES,
            cell_timeout=cell_timeout,
            snapshot_dir=str(snapshot_dir),
            lab_dir=str(lab_dir),
            task_file=str(task_file),
            ignore_pattern=IGNORE_PATTERN,
            transport=transport if runtime_dir else "tcp",
            kernel_ip=str(Path(runtime_dir) / "kernel") if runtime_dir else "127.0.0.1",
        )
    )
    return path
