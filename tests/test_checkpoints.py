"""Policy checkpoints from the evaluator, and the checkpoint registry."""

import pytest

from grader import checkpoints
from grader.checkpoints import (
    POLICY_CHECKS,
    CheckpointRegistry,
    evaluate_policy,
    lookup_checkpoint,
)
from grader.evaluator import AnalysisInconclusive, clear_caches
from grader.policy import parse_policy
from grader.task import POLICY_CHECK_KINDS
from tests.policy_cases import (
    BUCKET,
    CANONICAL,
    KEY,
    OBJECTS,
    PUT,
    case,
    deploy_task,
    policy,
    statement,
)


def evaluate(text):
    return evaluate_policy(parse_policy(text), deploy_task())


def test_the_canonical_policy_holds_every_policy_checkpoint():
    evaluation = evaluate(policy(*CANONICAL))
    assert evaluation.checkpoints() == {
        "exact_actions": True,
        "s3_scoped": True,
        "cloudfront_scoped": True,
    }
    assert evaluation.passes


def test_checkpoints_are_null_when_the_text_does_not_parse():
    evaluation = evaluate(case("malformed_trailing_comma").text)
    assert set(evaluation.checkpoints().values()) == {None}
    assert not evaluation.under_grant and not evaluation.over_grant


def test_checkpoints_are_false_when_iam_refuses_the_document():
    evaluation = evaluate(case("fail_principal_in_identity_policy").text)
    assert set(evaluation.checkpoints().values()) == {False}
    assert not evaluation.over_grant
    assert {r.action for r in evaluation.under_grant} == set(
        deploy_task().intent.actions
    )
    assert not any(evaluation.stretch.values())


def test_a_missing_version_keeps_the_checkpoints_but_does_not_pass():
    evaluation = evaluate(policy(*CANONICAL, version=None))
    assert all(evaluation.checkpoints().values())
    assert not evaluation.passes


@pytest.mark.parametrize(
    ("deny", "holds"),
    [
        (statement("Deny", action="s3:DeleteBucket", resource=BUCKET), True),
        (statement("Deny", action="s3:DeleteBucket", resource="*"), True),
        (statement("Deny", action="s3:*Bucket", resource="*"), True),
        (statement("Deny", action=None, NotAction=[PUT], resource=BUCKET), True),
        (statement("Deny", action="s3:DeleteBucket", resource=OBJECTS), False),
        (
            statement(
                "Deny",
                action="s3:DeleteBucket",
                resource=BUCKET,
                Condition={"Bool": {"aws:MultiFactorAuthPresent": "false"}},
            ),
            False,
        ),
    ],
)
def test_the_delete_bucket_stretch_goal_needs_an_unconditional_deny(deny, holds):
    evaluation = evaluate(policy(*CANONICAL, deny))
    assert evaluation.stretch["deny_delete_bucket"] is holds


def test_all_sids_needs_a_sid_on_every_statement():
    named = [{**s, "Sid": f"S{i}"} for i, s in enumerate(CANONICAL)]
    assert evaluate(policy(*named)).stretch["all_sids"]
    assert not evaluate(policy(*named[:2], CANONICAL[2])).stretch["all_sids"]


def test_witnesses_of_every_checkpoint_are_gathered():
    text = policy(*CANONICAL, statement(action="s3:GetObject", resource=OBJECTS))
    evaluation = evaluate(text)
    assert [r.to_list() for r in evaluation.over_grant] == [["s3:GetObject", KEY]]


def test_an_inconclusive_solver_fails_the_checkpoint(monkeypatch):
    def give_up(language):
        raise AnalysisInconclusive("timeout")

    clear_caches()
    monkeypatch.setattr("grader.evaluator.solve", give_up)
    text = policy(
        statement(action=[PUT, "s3:DeleteObject"], resource="*"),
        statement(
            "Deny", action=[PUT, "s3:DeleteObject"], resource=None, NotResource=OBJECTS
        ),
        *CANONICAL[1:],
    )
    evaluation = evaluate(text)
    clear_caches()
    assert evaluation.results["s3_scoped"].passed is False
    assert evaluation.results["s3_scoped"].inconclusive == "timeout"


def test_every_policy_check_kind_has_a_check():
    assert set(POLICY_CHECKS) == set(POLICY_CHECK_KINDS)


def test_the_registry_lists_every_checkpoint_of_the_task_in_order():
    registry = CheckpointRegistry(deploy_task())
    assert list(registry)[:3] == [
        "user_no_console",
        "access_keys_stored",
        "policy_created",
    ]
    assert len(registry) == 8
    assert registry.policy_ids == ("exact_actions", "s3_scoped", "cloudfront_scoped")
    assert registry.lab_ids == (
        "user_no_console",
        "access_keys_stored",
        "policy_created",
        "policy_attached",
        "identity_verified",
    )
    assert registry.lookup("identity_verified").step == 7


def test_lookup_defaults_to_the_deploy_bot_task():
    assert lookup_checkpoint("s3_scoped").points == 2
    assert checkpoints.CHECKPOINTS["policy_attached"].kind == "lab"
    with pytest.raises(KeyError, match="no checkpoint"):
        lookup_checkpoint("q1")
