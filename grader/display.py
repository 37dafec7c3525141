"""What the notebooks' set-up, command and check cells show.

This is the notebook edge of the grader: it connects the kernel to the
lab, registers the ``%aws`` magic, rebuilds earlier steps, and renders
checkpoints.  A failing check or command shows the AWS error or the
diagnosis as plain lines, never a traceback, and still fails the cell so
that nbgrader scores it zero and nbval sees the intended error.
"""

import html
import os
import sys
from pathlib import Path

from grader import awscli, diagnoses, labstate, steps
from grader.policy import PolicyFileError
from grader.report import check_policy_file
from grader.task import load_task

_session = {}


class CheckpointFailed(AssertionError):
    """A graded checkpoint does not hold; the message is the diagnosis."""


def start_notebook(task_file="task.json"):
    """Connect this kernel to the lab, point ``aws`` at it, and return the Lab."""
    from grader.emulator import connect_lab

    lab = connect_lab()
    lab.activate()
    task = load_task(Path(task_file))
    _session.update(lab=lab, task=task)
    _register_with_ipython()
    print(
        f"Lab emulator at {lab.endpoint} (account {task.account}); "
        "the aws command talks to it and to nothing else."
    )
    return lab


def rebuild(needs):
    """Bring the tutorial steps named in ``needs`` up to date (see grader.steps)."""
    for change in steps.prepare(_session["lab"], _session["task"], needs):
        print(f"Rebuilt: {change}.")


def _register_with_ipython():
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    shell.register_magic_function(_aws_magic, magic_kind="line", magic_name="aws")
    handled = (
        CheckpointFailed,
        awscli.AwsCliError,
        steps.MissingPolicyFile,
        steps.StepFailed,
    )
    shell.set_custom_exc(handled, _show_without_traceback)


def _show_without_traceback(shell, etype, value, tb, tb_offset=None):
    lines = explain_exception(value)
    shell._showtraceback(etype, value, lines)
    return lines


def explain_exception(error):
    """The lines a student sees for a failed command or checkpoint."""
    if isinstance(error, awscli.AwsCliError):
        lines = [error.stderr.strip()]
        hint = diagnoses.explain_aws_error(error.code)
        if hint:
            lines += ["", hint]
        return lines
    return [str(error)]


def _aws_magic(line):
    """Run ``aws LINE`` in the lab; raise AwsCliError when it fails."""
    lab = _session["lab"]
    result = awscli.run_aws(line, env=dict(os.environ), lab_dir=lab.lab_dir)
    if result.stdout:
        print(result.stdout, end="" if result.stdout.endswith("\n") else "\n")
    if result.returncode != 0:
        raise awscli.AwsCliError(result.command, result.returncode, result.stderr)
    if result.stderr.strip():
        print(result.stderr, end="")


def check(checkpoint_id):
    """Show one checkpoint; raise CheckpointFailed with its diagnosis if it fails."""
    task = _session["task"]
    checkpoint = task.checkpoint(checkpoint_id)
    if checkpoint.kind == "policy":
        passed, messages = _policy_verdict(task, checkpoint_id)
    else:
        passed, messages = _lab_verdict(task, checkpoint_id)
    _show_checkpoint(checkpoint, passed, messages)
    if not passed:
        title = f"Checkpoint {checkpoint.step_label}: {checkpoint.title} — not yet."
        raise CheckpointFailed("\n".join([title, *messages]))


def _policy_verdict(task, checkpoint_id):
    path = Path(task.policy_file)
    if not path.exists():
        return False, [f"{path} does not exist yet: run the policy cell above."]
    try:
        report = check_policy_file(path, task).to_dict()
    except PolicyFileError as error:
        return False, [f"{path} cannot be read: {error}"]
    passed = bool(report["checkpoints"].get(checkpoint_id))
    relevant = [
        d["message"]
        for d in report["diagnoses"]
        if d["severity"] == "error"
        and checkpoint_id in diagnoses.checkpoints_of(d["code"])
    ]
    if not passed and not relevant:
        relevant = [
            d["message"] for d in report["diagnoses"] if d["severity"] == "error"
        ]
    if report["errors"]:
        relevant.append(
            "Line numbers count lines of the file, which starts on the line "
            "after %%writefile in the cell."
        )
    return passed, relevant


def _lab_verdict(task, checkpoint_id):
    state = labstate.read_lab_state(_session["lab"], task)
    verdict = labstate.judge_lab_checkpoint(checkpoint_id, state)
    if verdict.passed:
        return True, []
    return False, [diagnoses.describe(verdict.code, **verdict.detail)]


def _points(value):
    return f"{value:g}"


def _show_checkpoint(checkpoint, passed, messages):
    symbol, word, colour = (
        ("✔", "passed", "#1a7f37") if passed else ("✘", "not yet", "#cf222e")
    )
    earned = checkpoint.points if passed else 0
    points = f"{_points(earned)}/{_points(checkpoint.points)} points"
    text = f"{symbol} Checkpoint {checkpoint.step_label} ({checkpoint.id}): {word}"
    text += f", {points}"
    try:
        from IPython.display import display
    except ImportError:
        print(text)
        return
    body = "".join(f"<div>{html.escape(m)}</div>" for m in messages)
    page = (
        f'<div class="deploy-bot-check" style="border-left:4px solid {colour};'
        f'padding:4px 8px"><strong>{html.escape(text)}</strong>{body}</div>'
    )
    display({"text/html": page, "text/plain": text}, raw=True)
    sys.stdout.flush()
