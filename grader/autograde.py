"""The nbgrader course a grading run uses, and the preprocessors it needs.

A grading run works in its own course directory (never the repository's),
whose ``nbgrader_config.py`` is written by :func:`write_course_config`.
"""

from pathlib import Path

from nbgrader.preprocessors import DeduplicateIds

# What a run of the solutions or of a student leaves beside the notebooks.
# None of it may travel from the source into the release or into an
# autograded copy, where it would stand in for the student's own work.
IGNORED_FILES = [
    ".ipynb_checkpoints",
    "*.pyc",
    "__pycache__",
    "feedback",
    "deploy-bot-policy.json",
    "mistake-policy.json",
    "widened-policy.json",
    "build",
]


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


CONFIG_TEMPLATE = '''\
"""nbgrader configuration of a grading run (written by grader.autograde)."""

from nbgrader.preprocessors import (
    CheckCellMetadata, ClearOutput, OverwriteCells, OverwriteKernelspec,
)
from grader.autograde import DropDuplicateIds

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
'''


def write_course_config(course_dir, cell_timeout=60):
    """Write the grading course's nbgrader_config.py and return its path."""
    course_dir = Path(course_dir).resolve()
    path = course_dir / "nbgrader_config.py"
    path.write_text(
        CONFIG_TEMPLATE.format(
            root=str(course_dir),
            db_url="sqlite:///" + str(course_dir / "gradebook.db"),
            ignore=IGNORED_FILES,
            cell_timeout=cell_timeout,
        )
    )
    return path
