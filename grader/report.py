"""The policy report: every verdict on a policy text, in the report contract's shape.

Example:
    >>> from grader.task import default_task
    >>> report = check_policy_file("deploy-bot-policy.json", default_task())
    >>> sorted(report.to_dict()["checkpoints"])
    ['cloudfront_scoped', 'exact_actions', 's3_scoped']
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.checkpoints import evaluate_policy
from grader.diagnoses import ERROR, Diagnosis, diagnose
from grader.evaluator import Request
from grader.policy import JsonError, parse_policy, read_policy_file
from grader.task import Task

logger = logging.getLogger(__name__)

DEFAULT_POLICY_FILE = "deploy-bot-policy.json"
WITNESS_LIMIT = 10


@dataclass(frozen=True)
class Report:
    """Everything the grader found in one policy file."""

    file: str
    parsed: bool
    valid: bool
    passes: bool
    checkpoints: dict[str, bool | None]
    diagnoses: tuple[Diagnosis, ...]
    over_grant: tuple[Request, ...]
    under_grant: tuple[Request, ...]
    stretch: dict[str, bool]
    errors: tuple[JsonError, ...]
    task: str = ""
    titles: dict[str, str] = field(default_factory=dict)

    @property
    def error_codes(self) -> tuple[str, ...]:
        """Codes of the diagnoses with severity ``error``."""
        return tuple(d.code for d in self.diagnoses if d.severity == ERROR)

    @property
    def codes(self) -> tuple[str, ...]:
        """Codes of every diagnosis."""
        return tuple(d.code for d in self.diagnoses)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data, field for field as in the contract."""
        return {
            "file": self.file,
            "parsed": self.parsed,
            "valid": self.valid,
            "passes": self.passes,
            "checkpoints": dict(self.checkpoints),
            "diagnoses": [d.to_dict() for d in self.diagnoses],
            "over_grant": [r.to_list() for r in self.over_grant],
            "under_grant": [r.to_list() for r in self.under_grant],
            "stretch": dict(self.stretch),
            "errors": [e.to_dict() for e in self.errors],
            "task": self.task,
        }


def check_policy_text(text: str, task: Task, file: str = DEFAULT_POLICY_FILE) -> Report:
    """Check one policy text against ``task`` and build its report."""
    document = parse_policy(text)
    evaluation = evaluate_policy(document, task)
    report = Report(
        file=file,
        parsed=document.parsed,
        valid=document.valid,
        passes=evaluation.passes,
        checkpoints=evaluation.checkpoints(),
        diagnoses=diagnose(evaluation, task),
        over_grant=evaluation.over_grant[:WITNESS_LIMIT],
        under_grant=evaluation.under_grant[:WITNESS_LIMIT],
        stretch=dict(evaluation.stretch),
        errors=document.errors,
        task=task.id,
        titles={
            c.id: f"checkpoint {c.number}, {c.title}" for c in task.policy_checkpoints
        },
    )
    logger.info("checked %s for task %s: passes=%s", file, task.id, report.passes)
    return report


def check_policy_file(path: str | Path, task: Task) -> Report:
    """Check a policy file; raises PolicyFileError when it cannot be read."""
    path = Path(path)
    return check_policy_text(read_policy_file(path), task, file=path.name)


def _mark(value: bool | None) -> str:
    return {True: "PASS", False: "FAIL", None: "----"}[value]


def render_report(report: Report) -> str:
    """The report as plain text for a terminal or a notebook."""
    verdict = "passes" if report.passes else "does not pass"
    lines = [f"{report.file} {verdict} (task {report.task})"]
    if not report.parsed:
        lines.append("  the text is not JSON, so no checkpoint is graded")
    elif not report.valid:
        lines.append("  IAM would refuse this document, so it grants nothing")
    lines.append("Checkpoints:")
    for key, value in report.checkpoints.items():
        lines.append(f"  [{_mark(value)}] {key}: {report.titles.get(key, key)}")
    lines.append("Stretch goals:")
    for key, value in report.stretch.items():
        lines.append(f"  [{'done' if value else 'open'}] {key}")
    lines.extend(_witness_lines("Allowed but must not be", report.over_grant))
    lines.extend(_witness_lines("Needed but not allowed", report.under_grant))
    lines.append("Diagnoses:")
    for diagnosis in report.diagnoses:
        lines.append(f"  {diagnosis.severity} {diagnosis.code}: {diagnosis.message}")
    return "\n".join(lines)


def _witness_lines(title: str, requests: tuple[Request, ...]) -> list[str]:
    if not requests:
        return []
    return [f"{title}:", *(f"  {r.action} on {r.resource}" for r in requests)]
