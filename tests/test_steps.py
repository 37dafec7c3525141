"""Rebuilding earlier tutorial steps, and swapping a mistaken policy in and out."""

import json
from pathlib import Path

import botocore.exceptions
import pytest

from grader import keys, steps
from grader.task import load_task

REPO = Path(__file__).resolve().parents[1]
TASK = load_task(REPO / "solutions" / "deploy-bot" / "task.json")
POLICY_ARN = "arn:aws:iam::123456789012:policy/DeployBotPolicy"
GOOD = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:DeleteObject"],
            "Resource": "arn:aws:s3:::my-frontend-app-assets/*",
        },
        {
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::my-frontend-app-assets",
        },
    ],
}


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "deploy-bot-policy.json").write_text(json.dumps(GOOD))
    return tmp_path


def _iam(lab):
    return lab.session().client("iam")


def test_prepare_rebuilds_every_step_from_the_students_file(lab, workdir):
    steps.prepare(lab, TASK, steps.STEPS, workdir)
    iam = _iam(lab)
    attached = iam.list_attached_user_policies(UserName="deploy-bot")
    assert [p["PolicyArn"] for p in attached["AttachedPolicies"]] == [POLICY_ARN]
    version = iam.get_policy_version(PolicyArn=POLICY_ARN, VersionId="v1")
    assert version["PolicyVersion"]["Document"] == GOOD
    identity = lab.session("deploy-bot").client("sts").get_caller_identity()
    assert identity["Arn"].endswith(":user/deploy-bot")


def test_prepare_is_idempotent(lab, workdir):
    steps.prepare(lab, TASK, steps.STEPS, workdir)
    steps.prepare(lab, TASK, steps.STEPS, workdir)
    listed = _iam(lab).list_access_keys(UserName="deploy-bot")["AccessKeyMetadata"]
    assert len(listed) == 1
    assert len(keys.load_access_keys(lab.lab_dir)) == 1


def test_missing_policy_file_is_named_and_other_steps_still_happen(lab, tmp_path):
    with pytest.raises(steps.MissingPolicyFile, match="deploy-bot-policy.json"):
        steps.prepare(lab, TASK, steps.STEPS, tmp_path)
    identity = lab.session("deploy-bot").client("sts").get_caller_identity()
    assert identity["Arn"].endswith(":user/deploy-bot")


def test_policy_iam_refuses_is_a_step_failure_not_a_traceback(lab, tmp_path):
    (tmp_path / "deploy-bot-policy.json").write_text('{"Version": "2012-10-17"}')
    with pytest.raises(steps.StepFailed, match="MalformedPolicyDocument"):
        steps.prepare(lab, TASK, ["user", "policy", "attachment"], tmp_path)


def test_unknown_step_is_rejected(lab, workdir):
    with pytest.raises(ValueError, match="unknown steps"):
        steps.prepare(lab, TASK, ["users"], workdir)


def test_policy_swapped_restores_the_policy_even_when_the_block_fails(
    lab, workdir, tmp_path
):
    steps.prepare(lab, TASK, steps.STEPS, workdir)
    mistake = tmp_path / "mistake.json"
    mistake.write_text(json.dumps({**GOOD, "Statement": GOOD["Statement"][:1]}))
    s3 = lab.session("deploy-bot").client("s3")
    for _ in range(6):
        with pytest.raises(botocore.exceptions.ClientError, match="AccessDenied"):
            with steps.policy_swapped(lab, mistake):
                s3.list_objects_v2(Bucket="my-frontend-app-assets")
    s3.list_objects_v2(Bucket="my-frontend-app-assets")
    versions = _iam(lab).list_policy_versions(PolicyArn=POLICY_ARN)["Versions"]
    assert [v["VersionId"] for v in versions if v["IsDefaultVersion"]] == ["v1"]
    s3.close()


def test_policy_swapped_without_the_policy_says_which_step_is_missing(lab, workdir):
    with pytest.raises(steps.StepFailed, match="03-attach-policy"):
        with steps.policy_swapped(lab, workdir / "deploy-bot-policy.json"):
            pass


def test_prepare_brings_iams_copy_up_to_date_with_a_changed_file(lab, workdir):
    steps.prepare(lab, TASK, steps.STEPS, workdir)
    fixed = {**GOOD, "Statement": GOOD["Statement"][:1]}
    (workdir / "deploy-bot-policy.json").write_text(json.dumps(fixed))
    changes = steps.prepare(lab, TASK, steps.STEPS, workdir)
    assert changes == [
        "updated DeployBotPolicy in IAM to match your deploy-bot-policy.json"
    ]
    iam = _iam(lab)
    default = iam.get_policy(PolicyArn=POLICY_ARN)["Policy"]["DefaultVersionId"]
    held = iam.get_policy_version(PolicyArn=POLICY_ARN, VersionId=default)
    assert held["PolicyVersion"]["Document"] == fixed
    assert steps.prepare(lab, TASK, steps.STEPS, workdir) == []
