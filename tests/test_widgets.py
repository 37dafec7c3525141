"""The notebook widgets: panel, simulator, blast radius and lab control.

Their content is checked as data and as the HTML they render; the lab's
answers are checked against the live test emulator.
"""

import json
import socket
from pathlib import Path

import ipywidgets
import pytest

from grader import blast_radius, panel, simulator, steps, widgets
from grader.catalog import load_catalog
from grader.emulator import Lab
from grader.keys import store_path
from grader.task import default_task

POLICIES = Path(__file__).parent / "data" / "policies"
TASK = default_task()


def _policy(name):
    return json.loads((POLICIES / f"{name}.json").read_text())["policy_text"]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _write(workdir, text):
    (workdir / TASK.policy_file).write_text(text)
    return workdir / TASK.policy_file


@pytest.fixture
def built_lab(lab, workdir):
    """The lab after notebooks 01, 03 and 04, with the canonical policy."""
    _write(workdir, _policy("pass_canonical"))
    steps.prepare(lab, TASK, steps.STEPS, workdir=workdir)
    return lab


@pytest.fixture
def down_lab(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return Lab(tmp_path / "down", f"http://127.0.0.1:{port}")


def _row(state, checkpoint_id):
    return next(r for r in state.rows if r.id == checkpoint_id)


# The checkpoint panel


def test_panel_shows_eight_passes_for_a_passing_policy_and_a_built_lab(built_lab):
    state = panel.read_panel(TASK, built_lab)
    assert [r.number for r in state.rows] == list(range(1, 9))
    assert state.passed == 8 and state.problems == ()
    page = panel.render_html(state)
    assert page.count('data-state="pass"') == 8
    assert "✔ 5. s3_scoped: passed (2/2 points)" in page


def test_panel_shows_listbucket_on_object_arn_with_counterexample(built_lab, workdir):
    _write(workdir, _policy("fail_listbucket_on_object_arn"))
    state = panel.read_panel(TASK, built_lab)
    row = _row(state, "s3_scoped")
    assert not row.passed and row.state == "fail"
    assert row.codes == ("listbucket_on_object_arn",)
    assert row.counterexamples == (
        "needed but denied: s3:ListBucket on arn:aws:s3:::my-frontend-app-assets",
    )
    assert row.next_steps == ("give s3:ListBucket the bucket ARN, without /*",)
    assert "✘ 5. s3_scoped: not yet (0/2 points)" in state.text()
    assert state.passed == 7


def test_panel_shows_the_over_grant_of_an_extra_action(lab, workdir):
    _write(workdir, _policy("fail_extra_getobject"))
    row = _row(panel.read_panel(TASK, lab), "exact_actions")
    assert row.codes == ("extra_action",)
    assert row.counterexamples[0].startswith("allowed but must not be: s3:GetObject")


def test_panel_says_the_policy_file_is_missing(lab, workdir):
    state = panel.read_panel(TASK, lab)
    assert state.problems == (
        "policy file: deploy-bot-policy.json does not exist; "
        "run the policy cell to write it",
    )
    assert not any(r.passed for r in state.rows if r.id == "exact_actions")


def test_panel_says_where_the_json_is_malformed(lab, workdir):
    _write(workdir, '{\n  "Version": "2012-10-17",\n  "Statement": [,]\n}\n')
    (problem,) = panel.read_panel(TASK, lab).problems
    assert problem.startswith("deploy-bot-policy.json is not valid JSON (line 3, ")
    assert "column 17" in problem


def test_panel_says_the_emulator_is_down_without_raising(down_lab, workdir):
    _write(workdir, _policy("pass_canonical"))
    state = panel.read_panel(TASK, down_lab)
    assert state.problems == (
        f"the lab emulator does not answer at {down_lab.endpoint}; "
        "start it with `make lab`, then run the set-up cell again",
    )
    assert state.passed == 3
    assert "Traceback" not in state.text()


def test_recheck_button_rereads_the_policy_file(built_lab, workdir):
    box = panel.checkpoint_panel(built_lab, TASK)
    button, view = box.children
    assert "deploy-bot-panel" in box._dom_classes
    assert 'data-passed="8"' in view.value
    _write(workdir, _policy("fail_listbucket_on_object_arn"))
    button.click()
    assert 'data-passed="7"' in view.value
    assert 'data-codes="listbucket_on_object_arn"' in view.value


# The request simulator


CANONICAL_DECISIONS = {
    "deploy: list the bucket": (True, "AllowListBucket"),
    "deploy: upload an object": (True, "AllowObjectWrites"),
    "deploy: delete an object": (True, "AllowObjectWrites"),
    "deploy: invalidate the CDN": (True, "AllowInvalidation"),
    "must fail: list IAM users": (False, None),
    "must fail: delete the bucket": (False, "DenyDeleteBucket"),
    "must fail: upload to another bucket": (False, None),
    "must fail: invalidate another distribution": (False, None),
}
SIDS_POLICY = _policy("pass_stretch_deny_bucket_arn_with_sids")


@pytest.mark.parametrize("preset", simulator.presets(TASK), ids=lambda p: p.label)
def test_simulator_decides_each_preset(preset):
    decision = simulator.decide_request(SIDS_POLICY, preset.action, preset.resource)
    assert (decision.allowed, decision.statement) == CANONICAL_DECISIONS[preset.label]


def test_simulator_uses_aws_wording_for_implicit_and_explicit_denies():
    arn = TASK.principal_arn
    implicit = simulator.decide_request(SIDS_POLICY, "iam:ListUsers", "*")
    assert simulator.explain_decision(implicit, arn) == (
        "DENIED (implicit deny, no statement): User: "
        "arn:aws:iam::123456789012:user/deploy-bot is not authorized to perform: "
        "iam:ListUsers on resource: * because no identity-based policy allows the "
        "iam:ListUsers action"
    )
    bucket = TASK.names["bucket_arn"]
    explicit = simulator.decide_request(SIDS_POLICY, "s3:DeleteBucket", bucket)
    assert simulator.explain_decision(explicit, arn).endswith(
        "with an explicit deny in an identity-based policy"
    )
    assert "statement 'DenyDeleteBucket'" in simulator.explain_decision(explicit, arn)


def test_presets_add_the_over_grant_the_grader_found(workdir):
    path = _write(workdir, _policy("fail_extra_getobject"))
    report, _ = panel.read_report(TASK, path)
    labels = [p.label for p in simulator.presets(TASK, report)]
    assert labels[-1] == "over-grant found by the grader: s3:GetObject"


@pytest.mark.parametrize("name", ["pass_stretch_deny_bucket_arn_with_sids"])
def test_the_lab_agrees_with_the_evaluator_on_every_preset(built_lab, clients, name):
    text = _policy(name)
    iam = clients("iam")
    arn = f"arn:aws:iam::{TASK.account}:policy/{TASK.policy_name}"
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=text, SetAsDefault=True)
    for preset in simulator.presets(TASK):
        decision = simulator.decide_request(text, preset.action, preset.resource)
        answer = simulator.send_to_lab(built_lab, preset.action, preset.resource)
        assert answer.sent, preset.label
        assert answer.allowed == decision.allowed, (preset.label, answer.text)
    clients("s3").head_bucket(Bucket=TASK.names["bucket"])


def test_the_lab_agrees_on_the_over_grant(built_lab, clients, workdir):
    text = _policy("fail_extra_getobject")
    arn = f"arn:aws:iam::{TASK.account}:policy/{TASK.policy_name}"
    clients("iam").create_policy_version(
        PolicyArn=arn, PolicyDocument=text, SetAsDefault=True
    )
    resource = "arn:aws:s3:::my-frontend-app-assets/index.html"
    assert simulator.decide_request(text, "s3:GetObject", resource).allowed
    answer = simulator.send_to_lab(built_lab, "s3:GetObject", resource)
    assert answer.allowed and "NoSuchKey" in answer.text


def test_the_lab_says_it_cannot_send_an_unmapped_action(built_lab):
    answer = simulator.send_to_lab(built_lab, "ec2:RunInstances", "*")
    assert not answer.sent and answer.allowed is None
    assert answer.text.startswith("The lab cannot send ec2:RunInstances")


def test_simulator_widget_evaluates_a_preset_and_sends_it(built_lab, workdir):
    box = simulator.request_simulator(built_lab, TASK)
    choice, action, resource, buttons, verdict, lab_view = box.children
    choice.value = next(p for p in choice.options if p[1] and "IAM" in p[0])[1]
    assert (action.value, resource.value) == ("iam:ListUsers", "*")
    buttons.children[1].click()
    assert 'data-state="denied"' in verdict.value
    assert "because no identity-based policy allows" in verdict.value
    assert "The lab denied it" in lab_view.value


# Blast radius


def test_blast_radius_counts_the_policy_beside_the_references():
    mine, admin, s3_star = blast_radius.compare(TASK, SIDS_POLICY)
    catalog = load_catalog()
    assert (mine.action_count, mine.services) == (4, ("cloudfront", "s3"))
    assert admin.action_count == len(catalog)
    assert s3_star.action_count == len(catalog.service_indices("s3"))
    page = blast_radius.render_html((mine, admin, s3_star))
    assert "4 actions, 2 services" in page


def test_blast_radius_leaves_out_what_an_unconditional_deny_covers():
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:Delete*", "Resource": "*"},
        ],
    }
    (row,) = blast_radius.exposure(json.dumps(policy)).rows
    assert not any(a.startswith("s3:Delete") for a in row.actions)


# The lab control cell


def test_lab_status_shows_the_seed_and_enforcement(lab):
    status = widgets.read_lab_status(lab)
    assert status.running and status.enforcing
    assert (status.account, status.bucket, status.distribution) == (
        TASK.account,
        True,
        True,
    )
    assert status.probe == "an unknown key got InvalidClientTokenId"
    assert "started a private emulator" in status.path


def test_lab_status_says_the_emulator_is_down(down_lab):
    status = widgets.read_lab_status(down_lab)
    assert not status.running
    assert status.lines()[0] == (
        f"✘ The lab emulator does not answer at {down_lab.endpoint}."
    )


def test_reset_after_confirmation_returns_the_lab_to_its_seed(built_lab, clients):
    box = widgets.lab_control(built_lab)
    view, row, asking, note = box.children
    reset = row.children[1]
    reset.click()
    assert asking.layout.display == "flex"
    asking.children[1].click()
    assert "seeded state" in note.value
    assert not store_path(built_lab.lab_dir).exists()
    assert "deploy-bot" not in built_lab.credentials_file.read_text()
    users = clients("iam").list_users()["Users"]
    assert [u["UserName"] for u in users] == ["admin"]
    assert 'data-state="up"' in view.value


def test_widgets_module_exports_every_widget(workdir):
    for name in widgets.__all__:
        assert callable(getattr(widgets, name))
    view = widgets.blast_radius_view(TASK)
    assert isinstance(view, ipywidgets.VBox)
    assert "does not exist" in view.children[1].value
