"""Shared helpers for the policy tests: sample cases, policy builders, tasks."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.report import Report, check_policy_text
from grader.task import DEFAULT_TASK_PATH, Task, load_task

DATA = Path(__file__).parent / "data"
CASES = DATA / "policies"
LOG_READER = DATA / "tasks" / "log-reader.json"

BUCKET = "arn:aws:s3:::my-frontend-app-assets"
OBJECTS = BUCKET + "/*"
KEY = BUCKET + "/index.html"
DISTRIBUTION = "arn:aws:cloudfront::123456789012:distribution/E1A2B3C4D5E6F7"
PUT, DELETE, LIST = "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"
INVALIDATE = "cloudfront:CreateInvalidation"
BOT = "arn:aws:iam::123456789012:user/deploy-bot"


@dataclass(frozen=True)
class Case:
    """One labelled policy file of tests/data/policies."""

    name: str
    data: dict[str, Any]

    @property
    def text(self) -> str:
        """The policy as the student wrote it."""
        return self.data["policy_text"]


@functools.cache
def cases() -> tuple[Case, ...]:
    """Every labelled case, sorted by name."""
    return tuple(
        Case(path.stem, json.loads(path.read_text()))
        for path in sorted(CASES.glob("*.json"))
    )


def case(name: str) -> Case:
    """The labelled case called ``name``."""
    return next(c for c in cases() if c.name == name)


def statement(
    effect: str | None = "Allow",
    action: Any = None,
    resource: Any = None,
    **elements: Any,
) -> dict[str, Any]:
    """One statement; elements with a None value are left out."""
    found = {"Effect": effect, "Action": action, "Resource": resource, **elements}
    return {k: v for k, v in found.items() if v is not None}


CANONICAL = (
    statement(action=[PUT, DELETE], resource=OBJECTS),
    statement(action=LIST, resource=BUCKET),
    statement(action=INVALIDATE, resource=DISTRIBUTION),
)


def policy(*statements: dict[str, Any], version: str | None = "2012-10-17") -> str:
    """A policy text, indented like the samples."""
    document: dict[str, Any] = {} if version is None else {"Version": version}
    document["Statement"] = list(statements)
    return json.dumps(document, indent=2) + "\n"


@functools.cache
def deploy_task() -> Task:
    """The deploy-bot task shipped in solutions/."""
    return load_task(DEFAULT_TASK_PATH)


@functools.cache
def log_task() -> Task:
    """The log-reader task used to show the grader is driven by the spec."""
    return load_task(LOG_READER)


def report(text: str, task: Task | None = None) -> Report:
    """The report for ``text`` under the deploy-bot task (or ``task``)."""
    return check_policy_text(text, task or deploy_task())
