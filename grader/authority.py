"""The authoritative score of a submission, decided outside the student's kernel.

Nothing the notebook's kernel does can change it: the policy checkpoints are
judged from the source of the submitted policy cell, read from the notebook
file in this process with the instructor's task spec; the lab checkpoints
are judged from snapshots of the emulator that the grader took itself,
each right after the notebook that grades it (later notebooks swap policy
versions for a while, so the state at the end would mislead).
"""

import json
import logging
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from grader import diagnoses
from grader.autograde import SNAPSHOT_SUFFIX
from grader.labstate import LabState, judge_lab_checkpoint
from grader.report import check_policy_text

log = logging.getLogger(__name__)

POLICY_NOTEBOOK = "02-write-policy"
_WRITEFILE = re.compile(r"^\s*%%writefile\s+(?:-a\s+)?(\S+)\s*$")
_COUNTEREXAMPLES = 3
NOT_RUN = "notebook_not_run"


@dataclass
class CheckpointResult:
    """One checkpoint of one submission, as the grader decided it."""

    id: str
    title: str
    notebook: str
    points: float
    earned: float
    code: str = ""
    message: str = ""
    next_step: str = ""
    counterexamples: list = field(default_factory=list)

    @property
    def passed(self):
        """Whether the checkpoint earned its points."""
        return self.earned == self.points


def grading_notebooks(source_dir):
    """Map each checkpoint id to the notebook (stem) whose test cell grades it."""
    owners = {}
    for path in sorted(Path(source_dir).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade"):
                owners[meta["grade_id"]] = path.stem
    return owners


def policy_source(notebook_path, policy_file):
    """The policy the submitted notebook writes, and why not if there is none.

    It is the body of the last ``%%writefile <policy_file>`` cell, whatever
    its metadata says, because that is what the file holds after a run.
    """
    try:
        book = nbformat.read(notebook_path, as_version=4)
    except FileNotFoundError:
        return None, f"{Path(notebook_path).name} was not submitted"
    except Exception as error:
        return None, f"{Path(notebook_path).name} is not a readable notebook ({error})"
    text = None
    for cell in book.cells:
        if cell.get("cell_type") != "code":
            continue
        first, _, body = str(cell.source).partition("\n")
        match = _WRITEFILE.match(first)
        if match and Path(match.group(1)).name == policy_file:
            text = body
    if text is None:
        return None, f"no %%writefile {policy_file} cell: the policy was never written"
    return text, ""


def read_snapshot(snapshot_dir, notebook):
    """The recorded snapshot after ``notebook`` ran, or None."""
    path = Path(snapshot_dir) / f"{notebook}{SNAPSHOT_SUFFIX}"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _lab_state(record):
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in record.items()}
    return LabState(**fields)


def judge_submission(task, submission_dir, snapshot_dir, owners):
    """Every checkpoint's result for one submission, in the task's order."""
    policy_path = Path(submission_dir) / f"{POLICY_NOTEBOOK}.ipynb"
    text, missing = policy_source(policy_path, task.policy_file)
    report = check_policy_text(text, task) if text is not None else None
    results = []
    for spec in task.checkpoints:
        notebook = owners.get(spec.id, "")
        result = CheckpointResult(spec.id, spec.title, notebook, spec.points, 0.0)
        if spec.kind == "policy":
            _judge_policy(result, report, missing)
        else:
            _judge_lab(result, task, read_snapshot(snapshot_dir, notebook))
        results.append(result)
    return results


def _judge_policy(result, report, missing):
    if report is None:
        result.code, result.message = "policy_missing", missing
        result.next_step = "Write the policy in the %%writefile cell and run it."
        return
    if report.checkpoints.get(result.id):
        result.earned = result.points
        return
    relevant = [
        d
        for d in report.diagnoses
        if d.severity == diagnoses.ERROR and result.id in d.checkpoints
    ] or [d for d in report.diagnoses if d.severity == diagnoses.ERROR]
    if relevant:
        first = relevant[0]
        result.code, result.message = first.code, first.message
        result.next_step = _next_step(first.code)
    result.counterexamples = _counterexamples(result.id, report)


def _counterexamples(checkpoint_id, report):
    prefix = {"s3_scoped": "s3:", "cloudfront_scoped": "cloudfront:"}.get(
        checkpoint_id, ""
    )
    found = [
        f"{r.action} on {r.resource} is allowed but must not be"
        for r in report.over_grant
        if r.action.startswith(prefix)
    ] + [
        f"{r.action} on {r.resource} is needed by the deploy but not allowed"
        for r in report.under_grant
        if r.action.startswith(prefix)
    ]
    return found[:_COUNTEREXAMPLES]


def _judge_lab(result, task, snapshot):
    if snapshot is None:
        result.code = NOT_RUN
        result.message = f"{result.notebook}.ipynb was not run (missing or unreadable)"
        result.next_step = f"Submit {result.notebook}.ipynb, run top to bottom."
        return
    if snapshot.get("state") is None:
        result.code = "lab_state_unknown"
        result.message = "the lab could not be read after this notebook ran"
        result.next_step = "Run the notebook top to bottom in a fresh kernel."
        return
    verdict = judge_lab_checkpoint(result.id, _lab_state(snapshot["state"]))
    if verdict.passed:
        result.earned = result.points
        return
    result.code = verdict.code
    result.message = diagnoses.describe(verdict.code, task, **verdict.detail)
    result.next_step = _next_step(verdict.code)


def _next_step(code):
    try:
        return diagnoses.lookup_diagnosis(code).next_step
    except KeyError:
        return ""


def results_to_data(results):
    """JSON-ready checkpoint results."""
    return [asdict(r) for r in results]


def results_from_data(data):
    """Checkpoint results back from :func:`results_to_data`."""
    return [CheckpointResult(**item) for item in data]
