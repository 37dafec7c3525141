"""Command line: ``python -m grader check POLICY [--json] [--task TASK]``.

Each sub-command is a ``Command``: it adds its arguments to a parser and runs
with the parsed arguments, returning the exit code. ``check`` lives here;
other sub-commands live in their own modules, each exposing ``COMMAND``, and
are named in ``COMMAND_MODULES``; a module is imported only when its
sub-command runs (or for ``--help``). Exit codes: 0 all good, 1 something
failed and was reported, 2 a usage or set-up error (``Error: ...`` on stderr).
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.policy import PolicyFileError
from grader.report import check_policy_file, render_report
from grader.task import TASK_FILE, Task, TaskSpecError, find_task, load_task

logger = logging.getLogger(__name__)

COMMAND_MODULES: Mapping[str, str] = {"grade": "grader.cli_grade"}
"""Sub-commands defined elsewhere: name to the module that defines ``COMMAND``."""


class SetupError(Exception):
    """The command cannot run as asked; the message names the fix."""


@dataclass(frozen=True)
class Command:
    """A sub-command: its name, help, arguments and what it runs."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def resolve_task(task_path: str | None, policy_path: str | None) -> Task:
    """The task spec given, or ``task.json`` beside the policy or in the cwd."""
    if task_path:
        return load_task(task_path)
    found = find_task(policy_path)
    if found is None:
        raise SetupError(
            f"no task spec: there is no {TASK_FILE} beside {policy_path or 'the'} "
            f"policy or in {Path.cwd()}; pass --task PATH/TO/{TASK_FILE}"
        )
    return load_task(found)


def _configure_check(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("policy", help="the policy file, e.g. deploy-bot-policy.json")
    parser.add_argument("--json", action="store_true", help="print the JSON report")
    parser.add_argument(
        "--task",
        help=f"the task spec (default: {TASK_FILE} beside the policy, then here)",
    )


def _run_check(args: argparse.Namespace) -> int:
    task = resolve_task(args.task, args.policy)
    try:
        report = check_policy_file(args.policy, task)
    except PolicyFileError as error:
        hint = (
            ""
            if Path(args.policy).exists()
            else " (write the policy file first, step 3)"
        )
        raise SetupError(f"{error}{hint}") from error
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(render_report(report))
    return 0 if report.passes else 1


CHECK = Command(
    name="check",
    help="check a policy file: checkpoints 4 to 6, stretch goals, diagnoses",
    configure=_configure_check,
    run=_run_check,
)


def commands(names: Collection[str] | None = None) -> tuple[Command, ...]:
    """``check`` and the sub-commands of ``COMMAND_MODULES`` (all, or ``names``)."""
    modules = [m for n, m in COMMAND_MODULES.items() if names is None or n in names]
    extra = tuple(importlib.import_module(m).COMMAND for m in modules)
    return (CHECK, *extra)


def _requested(argv: Sequence[str] | None) -> set[str] | None:
    """The one sub-command named on the command line, if it is known."""
    words = [
        w for w in (sys.argv[1:] if argv is None else argv) if not w.startswith("-")
    ]
    if words and (words[0] == CHECK.name or words[0] in COMMAND_MODULES):
        return {words[0]}
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser, with a sub-parser for the commands ``argv`` needs."""
    parser = argparse.ArgumentParser(
        prog="python -m grader", description="Grade the deploy-bot lab."
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="-v info, -vv debug"
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for command in commands(_requested(argv)):
        sub = subparsers.add_parser(command.name, help=command.help)
        command.configure(sub)
        sub.set_defaults(run=command.run)
    return parser


def configure_logging(verbosity: int) -> None:
    """Log to stderr: warnings by default, more with -v and -vv."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser(argv).parse_args(argv)
    configure_logging(args.verbose)
    try:
        return args.run(args)
    except (SetupError, TaskSpecError, PolicyFileError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
