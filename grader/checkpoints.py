"""Policy checkpoints: the tutorial checkpoints decided from the policy text.

Each policy checkpoint comes from the evaluator's exact checks, as the task
spec describes it. A checkpoint is None when the text did not parse and False
when IAM would refuse the document, which then grants nothing. Lab
checkpoints are decided elsewhere from the emulator's state; this module only
carries their metadata in the registry.

Example:
    >>> registry = CheckpointRegistry(default_task())
    >>> registry["s3_scoped"].points
    2.0
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from grader.evaluator import (
    ActionCheck,
    AnalysisInconclusive,
    CompiledPolicy,
    Request,
    ScopeCheck,
    check_actions,
    check_scope,
    compile_policy,
    decide,
)
from grader.policy import PolicyDocument
from grader.task import CheckpointSpec, StretchGoal, Task, default_task

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckpointResult:
    """The verdict of one policy checkpoint, with its witnesses."""

    id: str
    passed: bool | None
    over: tuple[Request, ...] = ()
    under: tuple[Request, ...] = ()
    action_check: ActionCheck | None = None
    scope_check: ScopeCheck | None = None
    inconclusive: str | None = None


@dataclass(frozen=True)
class PolicyEvaluation:
    """A document, its compiled form, and every policy verdict on it."""

    document: PolicyDocument
    policy: CompiledPolicy
    results: Mapping[str, CheckpointResult]
    stretch: Mapping[str, bool]
    passes: bool

    def checkpoints(self) -> dict[str, bool | None]:
        """Checkpoint id to verdict, in task order."""
        return {key: result.passed for key, result in self.results.items()}

    @property
    def over_grant(self) -> tuple[Request, ...]:
        """Every over-grant witness, without repeats."""
        return tuple(dict.fromkeys(r for c in self.results.values() for r in c.over))

    @property
    def under_grant(self) -> tuple[Request, ...]:
        """Every under-grant witness, without repeats."""
        return tuple(dict.fromkeys(r for c in self.results.values() for r in c.under))


def _check_actions(
    policy: CompiledPolicy, task: Task, spec: CheckpointSpec
) -> CheckpointResult:
    check = check_actions(policy, task.intent)
    return CheckpointResult(
        spec.id, check.holds, check.extra, check.missing, action_check=check
    )


def _check_resources(
    policy: CompiledPolicy, task: Task, spec: CheckpointSpec
) -> CheckpointResult:
    check = check_scope(policy, task.intent, spec.actions)
    return CheckpointResult(
        spec.id, check.holds, check.over, check.under, scope_check=check
    )


PolicyCheck = Callable[[CompiledPolicy, Task, CheckpointSpec], CheckpointResult]

POLICY_CHECKS: Mapping[str, PolicyCheck] = {
    "actions": _check_actions,
    "resources": _check_resources,
}
"""How each ``check`` kind of a policy checkpoint is decided."""


def _run(policy: CompiledPolicy, task: Task, spec: CheckpointSpec) -> CheckpointResult:
    try:
        return POLICY_CHECKS[spec.check](policy, task, spec)
    except AnalysisInconclusive as error:
        logger.warning("checkpoint %s is inconclusive: %s", spec.id, error)
        return CheckpointResult(spec.id, False, inconclusive=str(error))


def _refused(task: Task, spec: CheckpointSpec) -> CheckpointResult:
    actions = spec.actions or tuple(r.action for r in task.required)
    under = tuple(
        Request(action, task.examples(action)[0]) for action in dict.fromkeys(actions)
    )
    return CheckpointResult(spec.id, False, under=under)


def check_stretch(
    policy: CompiledPolicy, document: PolicyDocument, goal: StretchGoal
) -> bool:
    """Whether one stretch goal holds (always False for refused documents)."""
    if not policy.grants:
        return False
    if goal.check == "all_sids":
        statements = document.statements
        return bool(statements) and all(s.sid for s in statements)
    decision = decide(policy.rules, goal.action or "", goal.resource or "")
    return decision.explicit_deny


def evaluate_policy(document: PolicyDocument, task: Task) -> PolicyEvaluation:
    """Decide every policy checkpoint and stretch goal of ``task``."""
    policy = compile_policy(document)
    specs = task.policy_checkpoints
    if not document.parsed:
        results = {s.id: CheckpointResult(s.id, None) for s in specs}
    elif not document.valid:
        results = {s.id: _refused(task, s) for s in specs}
    else:
        results = {s.id: _run(policy, task, s) for s in specs}
    stretch = {g.id: check_stretch(policy, document, g) for g in task.stretch}
    passes = (
        document.valid
        and document.version == task.version
        and all(r.passed for r in results.values())
    )
    return PolicyEvaluation(document, policy, results, stretch, passes)


class CheckpointRegistry(Mapping[str, CheckpointSpec]):
    """Every checkpoint of a task by id, in tutorial order."""

    def __init__(self, task: Task) -> None:
        self.task = task

    def __getitem__(self, checkpoint_id: str) -> CheckpointSpec:
        return self.task.checkpoint(checkpoint_id)

    def __iter__(self) -> Iterator[str]:
        return iter(c.id for c in self.task.checkpoints)

    def __len__(self) -> int:
        return len(self.task.checkpoints)

    def lookup(self, checkpoint_id: str) -> CheckpointSpec:
        """The checkpoint with this id; raises KeyError naming the known ids."""
        return self[checkpoint_id]

    @property
    def policy_ids(self) -> tuple[str, ...]:
        """Ids of the checkpoints decided from the policy."""
        return tuple(c.id for c in self.task.policy_checkpoints)

    @property
    def lab_ids(self) -> tuple[str, ...]:
        """Ids of the checkpoints decided from the lab's state."""
        return tuple(c.id for c in self.task.lab_checkpoints)


def lookup_checkpoint(checkpoint_id: str, task: Task | None = None) -> CheckpointSpec:
    """A checkpoint's metadata (id, step, title, points, kind) by id."""
    return CheckpointRegistry(task or default_task()).lookup(checkpoint_id)


def __getattr__(name: str) -> CheckpointRegistry:
    if name == "CHECKPOINTS":
        return CheckpointRegistry(default_task())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
