"""``python -m grader grade SUBMISSIONS --out DIR``: grade a whole class.

Exit codes: 0 every student graded, 1 some scored zero (each with a reason),
2 a usage or set-up error.
"""

import argparse
import logging
import time
from pathlib import Path

from grader.batch import ASSIGNMENT, GradingSetupError, Settings, grade_class, reason

log = logging.getLogger(__name__)
_REPO_SOURCE = Path(__file__).resolve().parents[1] / "solutions"


def _configure(parser):
    parser.add_argument(
        "submissions",
        help="folder of submissions: SUBMISSIONS/submitted/<student>/deploy-bot/, "
        "SUBMISSIONS/<student>/deploy-bot/, or a flat LMS download of "
        "<student>_<notebook>.ipynb and <student>_*.zip files",
    )
    parser.add_argument(
        "--out", required=True, help="where grades.csv and feedback/ are written"
    )
    parser.add_argument(
        "--source",
        default=str(_REPO_SOURCE),
        help="the instructor source folder holding deploy-bot/ (default: %(default)s)",
    )
    parser.add_argument(
        "--workers", type=int, default=0, help="parallel submissions (default: cores)"
    )
    parser.add_argument(
        "--cell-timeout", type=int, default=60, help="seconds per cell (default 60)"
    )
    parser.add_argument(
        "--submission-timeout",
        type=int,
        default=900,
        help="seconds per submission, all notebooks (default 900)",
    )
    parser.add_argument("--assignment", default=ASSIGNMENT, help=argparse.SUPPRESS)
    parser.add_argument("--transport", default="ipc", help=argparse.SUPPRESS)


def _run(args):
    from grader.cli import SetupError

    if args.workers < 0 or args.cell_timeout <= 0 or args.submission_timeout <= 0:
        raise SetupError("--workers, --cell-timeout and --submission-timeout")
    settings = Settings(
        cell_timeout=args.cell_timeout,
        submission_timeout=args.submission_timeout,
        workers=args.workers,
        transport=args.transport,
    )
    started = time.monotonic()
    try:
        result = grade_class(
            args.submissions, args.out, args.source, args.assignment, settings
        )
    except GradingSetupError as error:
        raise SetupError(str(error)) from error
    _print_summary(result, time.monotonic() - started)
    return 1 if result.zero_scored else 0


def _print_summary(result, seconds):
    rows = result.rows
    print(
        f"graded {len(rows)} submissions in {seconds:.0f} s "
        f"({result.resumed} from an earlier run): "
        f"{len(result.zero_scored)} scored zero, "
        f"{len(result.review)} need manual review"
    )
    for row in result.zero_scored:
        print(f"  zero    {row['student']}: {reason(row)}")
    for row in result.review:
        print(f"  review  {row['student']}: {row['notes'][-1]}")
    print(f"grades: {result.grades_csv}")
    print(f"checkpoints: {result.checkpoints_csv}")
    print(f"feedback: {result.feedback_dir}")


def _command():
    from grader.cli import Command

    return Command(
        name="grade",
        help="grade a folder of submissions: grades CSV, checkpoints CSV, feedback",
        configure=_configure,
        run=_run,
    )


COMMAND = _command()
