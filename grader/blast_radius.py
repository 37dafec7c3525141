"""Blast radius: what a policy lets a leaked key do, counted from the catalogue.

Each Allow statement names actions (counted in the catalogue of every AWS
action) on resource patterns.  The summary groups them by service and
pattern, and sets two reference policies beside the student's:
AdministratorAccess (``*`` on ``*``) and ``s3:*`` on the bucket and its
objects.  Counts are of actions named: an action is left out of a row only
when an unconditional Deny covers the row's whole pattern, and an action
named on a pattern outside its resource types is still counted.
"""

from __future__ import annotations

import html
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from grader.catalog import load_catalog
from grader.evaluator import CompiledPolicy, covers, glob_text, policy_for
from grader.policy import PolicyFileError, read_policy_file
from grader.task import Task

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExposureRow:
    """Actions of one service allowed on one resource pattern."""

    service: str
    resource: str
    actions: tuple[str, ...]
    conditional: bool = False


@dataclass(frozen=True)
class Exposure:
    """Everything one policy allows, grouped."""

    name: str
    rows: tuple[ExposureRow, ...]

    @property
    def action_count(self) -> int:
        """Distinct actions allowed on some resource."""
        return len({a for row in self.rows for a in row.actions})

    @property
    def services(self) -> tuple[str, ...]:
        """The services with at least one allowed action."""
        return tuple(dict.fromkeys(row.service for row in self.rows))


def _named(rule) -> frozenset[int]:
    catalog = load_catalog()
    listed = frozenset().union(*(catalog.matching(p) for p in rule.actions))
    return frozenset(range(len(catalog))) - listed if rule.not_action else listed


def _denied(policy: CompiledPolicy, index: int, glob) -> bool:
    name = load_catalog().actions[index].name
    return any(
        not rule.allow
        and not rule.conditional
        and not rule.spec.negated
        and rule.matches_action(name)
        and any(covers(g, glob) for g in rule.spec.globs)
        for rule in policy.rules
    )


def exposure(source, name: str = "your policy") -> Exposure:
    """The grouped allowances of a policy text, decoded policy or document."""
    policy, catalog = policy_for(source), load_catalog()
    groups: dict[tuple[str, str], set[str]] = {}
    conditional: set[tuple[str, str]] = set()
    for rule in (r for r in policy.rules if r.allow):
        globs = rule.spec.globs
        patterns = (
            ["NotResource " + ", ".join(map(glob_text, globs))]
            if (rule.spec.negated)
            else [glob_text(g) for g in globs]
        )
        for index in sorted(_named(rule)):
            action = catalog.actions[index]
            for glob, pattern in zip(globs or [()], patterns, strict=False):
                if not rule.spec.negated and _denied(policy, index, glob):
                    continue
                key = (action.service, pattern)
                groups.setdefault(key, set()).add(action.name)
                if rule.conditional:
                    conditional.add(key)
    rows = tuple(
        ExposureRow(
            service, pattern, tuple(sorted(names)), (service, pattern) in conditional
        )
        for (service, pattern), names in sorted(groups.items())
    )
    return Exposure(name, rows)


def reference_policies(task: Task) -> dict[str, dict]:
    """AdministratorAccess, and ``s3:*`` on the task's bucket and its objects."""
    names = task.names
    return {
        "AdministratorAccess": _allow("*", "*"),
        "s3:* on the bucket": _allow(
            "s3:*", [names["bucket_arn"], names["object_arn"]]
        ),
    }


def _allow(action, resource) -> dict:
    statement = {"Effect": "Allow", "Action": action, "Resource": resource}
    return {"Version": "2012-10-17", "Statement": [statement]}


def compare(task: Task, policy_text: str) -> tuple[Exposure, ...]:
    """The student's exposure next to the two reference policies."""
    mine = exposure(policy_text)
    others = [exposure(json.dumps(p), n) for n, p in reference_policies(task).items()]
    return (mine, *others)


# Rendering


def render_html(exposures: tuple[Exposure, ...]) -> str:
    """A side-by-side table, then the student's rows."""
    head = "".join(f"<th>{html.escape(e.name)}</th>" for e in exposures)
    counts = "".join(
        f'<td class="deploy-bot-blast-count">{e.action_count} actions, '
        f"{len(e.services)} services</td>"
        for e in exposures
    )
    table = (
        '<table class="deploy-bot-blast-table"><tr><th></th>'
        f"{head}</tr><tr><th>a leaked key can</th>{counts}</tr></table>"
    )
    mine = exposures[0]
    lines = "".join(
        f'<li class="deploy-bot-blast-row">{html.escape(_row_text(row))}</li>'
        for row in mine.rows
    )
    return table + f"<div>What {html.escape(mine.name)} allows:</div><ul>{lines}</ul>"


def _row_text(row: ExposureRow) -> str:
    shown = ", ".join(row.actions[:6]) + (" …" if len(row.actions) > 6 else "")
    condition = " (only when its Condition holds)" if row.conditional else ""
    return (
        f"{row.service}: {len(row.actions)} actions on {row.resource}{condition}: "
        f"{shown}"
    )


def blast_radius_view(task: Task | None = None, policy_file=None):
    """The blast-radius widget, with a button that reads the policy again."""
    import ipywidgets as widgets

    from grader.task import load_task

    task = task or load_task(Path("task.json"))
    path = Path(policy_file or task.policy_file)
    view = widgets.HTML()
    view.add_class("deploy-bot-blast-body")
    button = widgets.Button(description="Re-count", icon="refresh")
    button.add_class("deploy-bot-blast-recount")

    def refresh(_=None) -> None:
        try:
            view.value = render_html(compare(task, read_policy_file(path)))
        except PolicyFileError as error:
            view.value = f"<div>⚠ {html.escape(str(error))}</div>"

    button.on_click(refresh)
    refresh()
    box = widgets.VBox([button, view])
    box.add_class("deploy-bot-blast-radius")
    return box
