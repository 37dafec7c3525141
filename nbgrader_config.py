"""nbgrader course configuration: solutions/ is the source, notebooks/ the release."""

import json
from pathlib import Path

from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearHiddenTests,
    ClearMarkScheme,
    ClearOutput,
    ComputeChecksums,
    IncludeHeaderFooter,
    InstantiateTests,
    LockCells,
    SaveCells,
)

from grader.autograde import IGNORED_FILES
from grader.release import ClearMagicSolutions

c = get_config()  # noqa: F821  (provided by traitlets when the file is loaded)
here = Path(__file__).resolve().parent

c.CourseDirectory.course_id = "deploy-bot-lab"
c.CourseDirectory.root = str(here)
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.db_url = "sqlite:///" + str(here / ".lab" / "gradebook.db")

# Files a solution run leaves behind must never reach students or graders:
# a policy file left in solutions/ would otherwise be copied into every
# release and every autograded submission.
c.CourseDirectory.ignore = IGNORED_FILES

# The stock list, written out in full (nbgrader offers no way to read it),
# with ClearSolutions swapped for the cell-magic-aware subclass.
c.GenerateAssignment.preprocessors = [
    IncludeHeaderFooter,
    InstantiateTests,
    LockCells,
    ClearMagicSolutions,
    ClearOutput,
    CheckCellMetadata,
    ComputeChecksums,
    SaveCells,
    ClearHiddenTests,
    ClearMarkScheme,
    ComputeChecksums,
    CheckCellMetadata,
]

_SKELETON = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": [], "Resource": []}],
}
c.ClearMagicSolutions.stubs = {"policy": json.dumps(_SKELETON, indent=2)}
