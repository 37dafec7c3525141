"""The task spec is data: the deploy-bot spec and a second one load alike."""

import json
from pathlib import Path

import pytest

from grader.task import DEFAULT_TASK_PATH, TaskSpecError, find_task, load_task
from tests.policy_cases import LOG_READER, deploy_task, log_task

CHECKPOINTS = [
    ("user_no_console", 1, 1, "lab"),
    ("access_keys_stored", 2, 1, "lab"),
    ("policy_created", 4, 1, "lab"),
    ("exact_actions", 3, 2, "policy"),
    ("s3_scoped", 3, 2, "policy"),
    ("cloudfront_scoped", 3, 1, "policy"),
    ("policy_attached", 5, 1, "lab"),
    ("identity_verified", 7, 1, "lab"),
]


def test_the_deploy_bot_task_has_the_eight_tutorial_checkpoints_in_order():
    task = deploy_task()
    found = [(c.id, c.step, c.points, c.kind) for c in task.checkpoints]
    assert found == CHECKPOINTS
    assert [c.step_label for c in task.checkpoints] == [str(n) for n in range(1, 9)]
    assert task.total_points == 10


def test_the_deploy_bot_task_fixes_the_course_names():
    task = deploy_task()
    assert (task.account, task.region, task.user_name) == (
        "123456789012",
        "us-east-1",
        "deploy-bot",
    )
    assert (task.policy_name, task.policy_file) == (
        "DeployBotPolicy",
        "deploy-bot-policy.json",
    )
    assert task.principal_arn == "arn:aws:iam::123456789012:user/deploy-bot"
    assert task.names["distribution_id"] == "E1A2B3C4D5E6F7"


def test_the_deploy_bot_task_requires_the_four_actions():
    intent = deploy_task().intent
    assert intent.actions == (
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:ListBucket",
        "cloudfront:CreateInvalidation",
    )
    assert intent.patterns("s3:ListBucket") == ("arn:aws:s3:::my-frontend-app-assets",)
    assert intent.services == ("s3", "cloudfront")


def test_scope_groups_and_stretch_goals_come_from_the_spec():
    task = deploy_task()
    assert task.checkpoint("s3_scoped").actions == (
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:ListBucket",
    )
    assert task.checkpoint("cloudfront_scoped").diagnoses.account == (
        "cloudfront_wrong_account"
    )
    assert [g.id for g in task.stretch] == ["deny_delete_bucket", "all_sids"]


def test_the_log_reader_spec_loads_with_its_own_checkpoints():
    task = log_task()
    assert [c.id for c in task.policy_checkpoints] == [
        "only_get_log_events",
        "one_log_group",
    ]
    assert task.intent.actions == ("logs:GetLogEvents",)


def test_action_names_in_the_spec_are_spelled_as_the_catalogue_does(tmp_path):
    data = json.loads(LOG_READER.read_text())
    data["required"][0]["action"] = "LOGS:getlogevents"
    path = tmp_path / "task.json"
    path.write_text(json.dumps(data))
    assert load_task(path).required[0].action == "logs:GetLogEvents"


def _broken(tmp_path: Path, change) -> Path:
    data = json.loads(DEFAULT_TASK_PATH.read_text())
    change(data)
    path = tmp_path / "task.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d["required"][0].update(action="s3:PutObjekt"), "not an action"),
        (lambda d: d["checkpoints"][4].update(kind="quiz"), "kind must be"),
        (lambda d: d["checkpoints"][4].update(check="vibes"), "check must be"),
        (
            lambda d: d["checkpoints"][4]["actions"].append("s3:GetObject"),
            "not a required",
        ),
        (
            lambda d: d["checkpoints"][4]["diagnoses"].update(too_broad="nope"),
            "not registered",
        ),
        (lambda d: d["checkpoints"][1].update(id="user_no_console"), "used twice"),
        (lambda d: d["stretch"][0].update(check="maybe"), "check must be"),
        (lambda d: d.pop("required"), "required"),
    ],
)
def test_a_broken_spec_is_refused_with_the_reason(tmp_path, change, words):
    with pytest.raises(TaskSpecError, match=words):
        load_task(_broken(tmp_path, change))


def test_a_missing_or_unreadable_spec_says_so(tmp_path):
    with pytest.raises(TaskSpecError, match="does not exist"):
        load_task(tmp_path / "task.json")
    (tmp_path / "task.json").write_text("{")
    with pytest.raises(TaskSpecError, match="not JSON"):
        load_task(tmp_path / "task.json")


def test_an_unknown_checkpoint_id_names_the_known_ones():
    with pytest.raises(KeyError, match="exact_actions"):
        deploy_task().checkpoint("q1")


def test_the_default_spec_is_found_beside_the_policy_then_in_the_cwd(
    tmp_path, monkeypatch
):
    policy_dir, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    policy_dir.mkdir()
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert find_task(policy_dir / "deploy-bot-policy.json") is None
    (elsewhere / "task.json").write_text("{}")
    assert find_task(policy_dir / "deploy-bot-policy.json") == elsewhere / "task.json"
    (policy_dir / "task.json").write_text("{}")
    assert find_task(policy_dir / "deploy-bot-policy.json") == policy_dir / "task.json"
