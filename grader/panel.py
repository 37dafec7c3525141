"""The checkpoint panel: all eight checkpoints of the lab in one widget.

The panel decides nothing itself: the policy checkpoints come from the
policy report, the lab checkpoints from the lab's state, both judged by the
grader's pipeline.  It reads the policy file and asks the emulator each time
the student presses "Re-check", so no kernel restart is needed.  A missing
file, malformed JSON or an emulator that does not answer become a plain
problem line that says which and where; no traceback reaches the notebook.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from pathlib import Path

import botocore.exceptions

from grader import diagnoses, emulator, labstate
from grader.policy import PolicyFileError, read_policy_file
from grader.report import Report, check_policy_text
from grader.task import CheckpointSpec, Task

logger = logging.getLogger(__name__)

PASS_SYMBOL, FAIL_SYMBOL = "✔", "✘"
PASS_COLOUR, FAIL_COLOUR = "#1a7f37", "#cf222e"


@dataclass(frozen=True)
class CheckpointRow:
    """One checkpoint as the panel shows it."""

    id: str
    number: int
    title: str
    points: float
    passed: bool
    reasons: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    counterexamples: tuple[str, ...] = ()
    next_steps: tuple[str, ...] = ()

    @property
    def state(self) -> str:
        """``pass`` or ``fail``, as in the row's CSS data attribute."""
        return "pass" if self.passed else "fail"

    def summary(self) -> str:
        """The row's first line, in words and symbol."""
        symbol, word = (
            (PASS_SYMBOL, "passed") if self.passed else (FAIL_SYMBOL, "not yet")
        )
        earned = self.points if self.passed else 0
        return (
            f"{symbol} {self.number}. {self.id}: {word} "
            f"({earned:g}/{self.points:g} points) — {self.title}"
        )


@dataclass(frozen=True)
class PanelState:
    """What the panel shows: one row per checkpoint, and set-up problems."""

    rows: tuple[CheckpointRow, ...]
    problems: tuple[str, ...]

    @property
    def passed(self) -> int:
        """How many checkpoints pass."""
        return sum(row.passed for row in self.rows)

    def text(self) -> str:
        """The panel as plain text, for logs, tests and text-only frontends."""
        lines = [f"Checkpoints: {self.passed} of {len(self.rows)} pass"]
        lines += [f"Problem: {p}" for p in self.problems]
        for row in self.rows:
            lines.append(row.summary())
            lines += [f"    {r}" for r in row.reasons]
            lines += [f"    Counterexample: {c}" for c in row.counterexamples]
            lines += [f"    What to change: {s}" for s in row.next_steps]
        return "\n".join(lines)


def read_report(task: Task, policy_path: Path) -> tuple[Report | None, str | None]:
    """The policy report, or None and the problem that prevents one."""
    try:
        text = read_policy_file(policy_path)
    except PolicyFileError as error:
        return None, f"policy file: {error}; run the policy cell to write it"
    report = check_policy_text(text, task, file=policy_path.name)
    if not report.parsed:
        where = "; ".join(
            f"line {e.line}, column {e.column}: {e.message}" for e in report.errors
        )
        return report, f"{policy_path.name} is not valid JSON ({where})"
    return report, None


def read_state(lab, task: Task) -> tuple[labstate.LabState | None, str | None]:
    """The lab's state, or None and why the emulator could not be asked."""
    if lab is None or not emulator.is_healthy(lab.endpoint):
        where = "no lab" if lab is None else lab.endpoint
        return None, (
            f"the lab emulator does not answer at {where}; "
            "start it with `make lab`, then run the set-up cell again"
        )
    try:
        return labstate.read_lab_state(lab, task), None
    except (botocore.exceptions.BotoCoreError, OSError) as error:
        logger.warning("could not read the lab state: %s", error)
        return None, f"the lab emulator at {lab.endpoint} failed: {error}"


def read_panel(task: Task, lab=None, policy_file: str | Path | None = None):
    """Every checkpoint of ``task``, judged now from the file and the lab."""
    path = Path(policy_file or task.policy_file)
    report, file_problem = read_report(task, path)
    state, lab_problem = read_state(lab, task)
    rows = tuple(
        _policy_row(c, report, file_problem)
        if c.is_policy
        else _lab_row(c, state, lab_problem)
        for c in sorted(task.checkpoints, key=lambda c: c.number)
    )
    problems = tuple(p for p in (file_problem, lab_problem) if p)
    logger.info(
        "panel: %d of %d checkpoints pass", sum(r.passed for r in rows), len(rows)
    )
    return PanelState(rows, problems)


def _row(checkpoint: CheckpointSpec, passed: bool, **found) -> CheckpointRow:
    return CheckpointRow(
        checkpoint.id,
        checkpoint.number,
        checkpoint.title,
        checkpoint.points,
        passed,
        **found,
    )


def _policy_row(checkpoint, report, problem) -> CheckpointRow:
    if report is None or not report.parsed:
        return _row(checkpoint, False, reasons=(problem,))
    passed = bool(report.checkpoints.get(checkpoint.id))
    if passed:
        return _row(checkpoint, True)
    found = [
        d
        for d in report.diagnoses
        if d.severity == diagnoses.ERROR and checkpoint.id in d.checkpoints
    ]
    found = found or [d for d in report.diagnoses if d.severity == diagnoses.ERROR]
    return _row(
        checkpoint,
        False,
        reasons=tuple(d.message for d in found),
        codes=tuple(d.code for d in found),
        counterexamples=_counterexamples(checkpoint, report),
        next_steps=_next_steps(d.code for d in found),
    )


def _counterexamples(checkpoint, report) -> tuple[str, ...]:
    def concerns(request) -> bool:
        return not checkpoint.actions or request.action in checkpoint.actions

    lines = [
        f"allowed but must not be: {r.action} on {r.resource}"
        for r in report.over_grant
        if concerns(r)
    ]
    lines += [
        f"needed but denied: {r.action} on {r.resource}"
        for r in report.under_grant
        if concerns(r)
    ]
    return tuple(lines)


def _next_steps(codes) -> tuple[str, ...]:
    steps = []
    for code in codes:
        try:
            steps.append(diagnoses.lookup_diagnosis(code).next_step)
        except KeyError:
            continue
    return tuple(dict.fromkeys(steps))


def _lab_row(checkpoint, state, problem) -> CheckpointRow:
    if state is None:
        return _row(checkpoint, False, reasons=(problem,))
    verdict = labstate.judge_lab_checkpoint(checkpoint.id, state)
    if verdict.passed:
        return _row(checkpoint, True)
    return _row(
        checkpoint,
        False,
        reasons=(diagnoses.describe(verdict.code, **verdict.detail),),
        codes=(verdict.code,),
        next_steps=_next_steps([verdict.code]),
    )


# Rendering


def render_html(state: PanelState) -> str:
    """The panel as HTML, with stable classes and data attributes for tests."""
    head = (
        f'<div class="deploy-bot-panel-summary" data-passed="{state.passed}">'
        f"<strong>Checkpoints: {state.passed} of {len(state.rows)} pass</strong></div>"
    )
    problems = "".join(
        f'<div class="deploy-bot-problem">⚠ Problem: {html.escape(p)}</div>'
        for p in state.problems
    )
    return head + problems + "".join(_row_html(row) for row in state.rows)


def _row_html(row: CheckpointRow) -> str:
    colour = PASS_COLOUR if row.passed else FAIL_COLOUR
    details = [html.escape(r) for r in row.reasons]
    details += [f"Counterexample: {html.escape(c)}" for c in row.counterexamples]
    details += [f"What to change: {html.escape(s)}" for s in row.next_steps]
    body = "".join(f'<div class="deploy-bot-detail">{d}</div>' for d in details)
    codes = " ".join(row.codes)
    return (
        f'<div class="deploy-bot-checkpoint" data-checkpoint="{row.id}" '
        f'data-state="{row.state}" data-codes="{html.escape(codes)}" '
        f'style="border-left:4px solid {colour};padding:2px 8px;margin:2px 0">'
        f"<strong>{html.escape(row.summary())}</strong>{body}</div>"
    )


def checkpoint_panel(lab=None, task: Task | None = None, policy_file=None):
    """The checkpoint panel widget, with a "Re-check" button."""
    import ipywidgets as widgets

    from grader.task import load_task

    task = task or load_task(Path("task.json"))
    view = widgets.HTML()
    view.add_class("deploy-bot-panel-body")
    button = widgets.Button(description="Re-check", icon="refresh")
    button.add_class("deploy-bot-recheck")
    button.tooltip = "Read the policy file and the lab again"

    def refresh(_=None) -> None:
        view.value = render_html(read_panel(task, lab, policy_file))

    button.on_click(refresh)
    refresh()
    box = widgets.VBox([button, view])
    box.add_class("deploy-bot-panel")
    return box
