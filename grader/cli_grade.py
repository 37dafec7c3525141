"""``python -m grader grade SUBMISSIONS --out DIR``: grade a whole class."""

import argparse
import logging
from pathlib import Path

from grader.batch import ASSIGNMENT, GradingSetupError, grade_class

log = logging.getLogger(__name__)
_REPO_SOURCE = Path(__file__).resolve().parents[1] / "solutions"


def _configure(parser):
    parser.add_argument(
        "submissions",
        help="folder of submissions: SUBMISSIONS/<student>/deploy-bot/*.ipynb "
        "(or SUBMISSIONS/submitted/<student>/deploy-bot/)",
    )
    parser.add_argument(
        "--out", required=True, help="where grades.csv and feedback/ are written"
    )
    parser.add_argument(
        "--source",
        default=str(_REPO_SOURCE),
        help="the instructor source folder holding deploy-bot/ (default: %(default)s)",
    )
    parser.add_argument("--assignment", default=ASSIGNMENT, help=argparse.SUPPRESS)


def _run(args):
    from grader.cli import SetupError

    try:
        result = grade_class(args.submissions, args.out, args.source, args.assignment)
    except GradingSetupError as error:
        raise SetupError(str(error)) from error
    width = max(len(s) for s in result.scores) if result.scores else 0
    for student, score in sorted(result.scores.items()):
        print(f"{student:<{width}}  {score:g}/{result.max_score:g}")
    print(f"grades: {result.grades_csv}")
    print(f"feedback: {result.feedback_dir}")
    return 0


def _command():
    from grader.cli import Command

    return Command(
        name="grade",
        help="grade a folder of submissions with nbgrader: grades CSV and feedback",
        configure=_configure,
        run=_run,
    )


COMMAND = _command()
