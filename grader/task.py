"""The task spec: what an assignment's policy must allow, read from JSON.

The grader holds no permissions of its own; an instructor describes a new
least-privilege exercise in a ``task.json`` and the same code grades it.

Example:
    >>> task = load_task("solutions/deploy-bot/task.json")
    >>> [c.id for c in task.policy_checkpoints]
    ['exact_actions', 's3_scoped', 'cloudfront_scoped']
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.catalog import load_catalog
from grader.evaluator import Intent

logger = logging.getLogger(__name__)

TASK_FILE = "task.json"
DEFAULT_TASK_PATH = (
    Path(__file__).resolve().parents[1] / "solutions/deploy-bot/task.json"
)
CHECKPOINT_KINDS = ("policy", "lab")
POLICY_CHECK_KINDS = ("actions", "resources")
STRETCH_CHECK_KINDS = ("explicit_deny", "all_sids")


class TaskSpecError(ValueError):
    """The task spec is missing or does not describe a task."""


@dataclass(frozen=True)
class RequiredRequest:
    """A request the deploy makes: an action on resources matching a pattern."""

    action: str
    resource: str
    examples: tuple[str, ...]
    operation: str
    command: str = ""
    wrong_type: str | None = None


@dataclass(frozen=True)
class Combination:
    """Codes that, found together, are reported as one code."""

    codes: tuple[str, ...]
    code: str


@dataclass(frozen=True)
class ScopeDiagnoses:
    """Which diagnosis code names each kind of resource mistake in a scope.

    ``names`` maps an ARN slot (``BucketName``) to codes for a ``wrong``
    value, a ``wildcard`` in it, or a ``narrow`` one where every value is
    intended.
    """

    too_broad: str = "resource_too_broad"
    not_matched: str = "resource_not_matched"
    region: str | None = None
    account: str | None = None
    malformed: str | None = None
    names: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    combined: tuple[Combination, ...] = ()

    def for_slot(self, slot: str, kind: str) -> str | None:
        """The code for a mistake of ``kind`` in ARN slot ``slot``, if named."""
        if slot == "Account":
            return self.account
        if slot == "Region":
            return self.region
        return self.names.get(slot, {}).get(kind)

    def codes(self) -> set[str]:
        """Every code this mapping names."""
        named = {self.too_broad, self.not_matched, self.region, self.account}
        named |= {self.malformed} | {c for m in self.names.values() for c in m.values()}
        named |= {c.code for c in self.combined}
        named |= {code for c in self.combined for code in c.codes}
        return {code for code in named if code}


@dataclass(frozen=True)
class CheckpointSpec:
    """One graded checkpoint of the tutorial."""

    id: str
    step: int
    title: str
    points: float
    kind: str
    check: str | None = None
    actions: tuple[str, ...] = ()
    diagnoses: ScopeDiagnoses = field(default_factory=ScopeDiagnoses)
    number: int = 0

    @property
    def step_label(self) -> str:
        """The checkpoint's number in the tutorial's list, as shown to students."""
        return str(self.number)

    @property
    def is_policy(self) -> bool:
        """Whether the checkpoint is decided from the policy text alone."""
        return self.kind == "policy"


@dataclass(frozen=True)
class StretchGoal:
    """An optional goal reported next to the checkpoints."""

    id: str
    title: str
    check: str
    action: str | None = None
    resource: str | None = None


@dataclass(frozen=True)
class Task:
    """A least-privilege exercise: names, required requests, checkpoints."""

    id: str
    title: str
    version: str
    names: Mapping[str, str]
    required: tuple[RequiredRequest, ...]
    checkpoints: tuple[CheckpointSpec, ...]
    stretch: tuple[StretchGoal, ...]
    deploy: tuple[str, ...] = ()
    path: Path | None = None

    @functools.cached_property
    def intent(self) -> Intent:
        """The required requests as the evaluator's intent."""
        actions = tuple(dict.fromkeys(r.action for r in self.required))
        return Intent(
            required=tuple((a, self.patterns(a)) for a in actions),
            examples=tuple((a, self.examples(a)) for a in actions),
            services=tuple(dict.fromkeys(a.partition(":")[0] for a in actions)),
        )

    def patterns(self, action: str) -> tuple[str, ...]:
        """The resource patterns intended for ``action``."""
        return tuple(r.resource for r in self.required if r.action == action)

    def examples(self, action: str) -> tuple[str, ...]:
        """Example ARNs for ``action``."""
        return tuple(e for r in self.required if r.action == action for e in r.examples)

    def requests_for(self, action: str) -> tuple[RequiredRequest, ...]:
        """The required entries of one action (exact catalogue spelling)."""
        return tuple(r for r in self.required if r.action == action)

    @property
    def policy_checkpoints(self) -> tuple[CheckpointSpec, ...]:
        """Checkpoints decided from the policy, in task order."""
        return tuple(c for c in self.checkpoints if c.is_policy)

    @property
    def lab_checkpoints(self) -> tuple[CheckpointSpec, ...]:
        """Checkpoints decided from the lab's state elsewhere."""
        return tuple(c for c in self.checkpoints if not c.is_policy)

    @property
    def total_points(self) -> float:
        """The points of every checkpoint together."""
        return sum(c.points for c in self.checkpoints)

    @property
    def principal_arn(self) -> str:
        """The ARN of the user the policy is for."""
        return self.names.get("user_arn", "")

    @property
    def account(self) -> str:
        """The lab's account ID."""
        return self.names.get("account", "")

    @property
    def region(self) -> str:
        """The region every CLI call names."""
        return self.names.get("region", "us-east-1")

    @property
    def user_name(self) -> str:
        """The IAM user the policy is for."""
        return self.names.get("user", "")

    @property
    def policy_name(self) -> str:
        """The customer-managed policy's name."""
        return self.names.get("policy_name", "")

    @property
    def policy_file(self) -> str:
        """The file the student writes the policy in."""
        return self.names.get("policy_file", "policy.json")

    @property
    def profile(self) -> str:
        """The named CLI profile holding the user's keys."""
        return self.names.get("profile", self.user_name)

    def checkpoint(self, checkpoint_id: str) -> CheckpointSpec:
        """The checkpoint with this id; raises KeyError naming the known ids."""
        for spec in self.checkpoints:
            if spec.id == checkpoint_id:
                return spec
        known = ", ".join(c.id for c in self.checkpoints)
        raise KeyError(f"no checkpoint {checkpoint_id!r} in task {self.id} ({known})")


def load_task(path: str | Path) -> Task:
    """Read and check a task spec; raises TaskSpecError naming the problem."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise TaskSpecError(f"task spec {path} does not exist") from error
    except (OSError, UnicodeDecodeError) as error:
        raise TaskSpecError(f"task spec {path} cannot be read: {error}") from error
    except json.JSONDecodeError as error:
        raise TaskSpecError(f"task spec {path} is not JSON: {error}") from error
    task = task_from_data(data, path)
    logger.info("loaded task %s from %s", task.id, path)
    return task


def task_from_data(data: Any, path: Path | None = None) -> Task:
    """Build a Task from decoded JSON; raises TaskSpecError when it is wrong."""
    where = str(path) if path else "task spec"
    try:
        task = _task(data, path)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise TaskSpecError(f"{where}: {error}") from error
    _check(task, where)
    return task


def _task(data: Mapping[str, Any], path: Path | None) -> Task:
    return Task(
        id=str(data["task"]),
        title=str(data.get("title", data["task"])),
        version=str(data.get("version", "2012-10-17")),
        names={str(k): str(v) for k, v in data.get("names", {}).items()},
        required=tuple(_required(item) for item in data["required"]),
        checkpoints=tuple(
            _checkpoint(item, number)
            for number, item in enumerate(data["checkpoints"], start=1)
        ),
        stretch=tuple(_stretch(item) for item in data.get("stretch", ())),
        deploy=tuple(str(line) for line in data.get("deploy", ())),
        path=path,
    )


def _canonical_action(name: str) -> str:
    action = load_catalog().action(name)
    if action is None:
        raise ValueError(f"{name} is not an action in the catalogue")
    return action.name


def _required(item: Mapping[str, Any]) -> RequiredRequest:
    action = _canonical_action(item["action"])
    examples = tuple(item.get("examples", ()))
    return RequiredRequest(
        action=action,
        resource=str(item["resource"]),
        examples=examples or (str(item["resource"]),),
        operation=str(item.get("operation", action.partition(":")[2])),
        command=str(item.get("command", "")),
        wrong_type=item.get("wrong_type"),
    )


def _scope_diagnoses(item: Mapping[str, Any]) -> ScopeDiagnoses:
    combined = tuple(
        Combination(tuple(c["codes"]), str(c["code"])) for c in item.get("combined", ())
    )
    return ScopeDiagnoses(
        too_broad=item.get("too_broad", "resource_too_broad"),
        not_matched=item.get("not_matched", "resource_not_matched"),
        region=item.get("region"),
        account=item.get("account"),
        malformed=item.get("malformed"),
        names={k: dict(v) for k, v in item.get("names", {}).items()},
        combined=combined,
    )


def _checkpoint(item: Mapping[str, Any], number: int) -> CheckpointSpec:
    return CheckpointSpec(
        id=str(item["id"]),
        step=int(item["step"]),
        title=str(item["title"]),
        points=float(item["points"]),
        kind=str(item["kind"]),
        check=item.get("check"),
        actions=tuple(_canonical_action(a) for a in item.get("actions", ())),
        diagnoses=_scope_diagnoses(item.get("diagnoses", {})),
        number=number,
    )


def _stretch(item: Mapping[str, Any]) -> StretchGoal:
    action = item.get("action")
    return StretchGoal(
        id=str(item["id"]),
        title=str(item.get("title", item["id"])),
        check=str(item["check"]),
        action=_canonical_action(action) if action else None,
        resource=item.get("resource"),
    )


def _check(task: Task, where: str) -> None:
    problems = list(_problems(task))
    if problems:
        raise TaskSpecError(f"{where}: " + "; ".join(problems))


def _problems(task: Task):
    from grader.diagnoses import DIAGNOSES

    ids = [c.id for c in task.checkpoints] + [s.id for s in task.stretch]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        yield f"id {dup!r} is used twice"
    required = {r.action for r in task.required}
    for spec in task.checkpoints:
        if spec.kind not in CHECKPOINT_KINDS:
            yield f"checkpoint {spec.id}: kind must be one of {CHECKPOINT_KINDS}"
        if spec.is_policy and spec.check not in POLICY_CHECK_KINDS:
            yield f"checkpoint {spec.id}: check must be one of {POLICY_CHECK_KINDS}"
        for action in set(spec.actions) - required:
            yield f"checkpoint {spec.id}: {action} is not a required action"
        for code in sorted(spec.diagnoses.codes() - set(DIAGNOSES)):
            yield f"checkpoint {spec.id}: diagnosis code {code!r} is not registered"
    for request in task.required:
        if request.wrong_type and request.wrong_type not in DIAGNOSES:
            code = request.wrong_type
            yield f"{request.action}: diagnosis code {code!r} is not registered"
    for goal in task.stretch:
        if goal.check not in STRETCH_CHECK_KINDS:
            yield f"stretch {goal.id}: check must be one of {STRETCH_CHECK_KINDS}"
        if goal.check == "explicit_deny" and not (goal.action and goal.resource):
            yield f"stretch {goal.id}: explicit_deny needs action and resource"


def find_task(policy_path: str | Path | None = None) -> Path | None:
    """The default spec: ``task.json`` beside the policy, then in the cwd."""
    places = [Path(policy_path).resolve().parent] if policy_path else []
    places.append(Path.cwd())
    for place in places:
        candidate = place / TASK_FILE
        if candidate.is_file():
            return candidate
    return None


@functools.cache
def default_task() -> Task:
    """The deploy-bot task shipped with the course."""
    return load_task(DEFAULT_TASK_PATH)
