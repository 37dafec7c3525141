"""The report contract: every labelled case, and the report's shape."""

import json

import pytest

import grader
from grader.evaluator import evaluate_request
from grader.report import check_policy_file, render_report
from tests.policy_cases import (
    CANONICAL,
    cases,
    deploy_task,
    log_task,
    policy,
    report,
    statement,
)

CONTRACT_FIELDS = {
    "file",
    "parsed",
    "valid",
    "passes",
    "checkpoints",
    "diagnoses",
    "over_grant",
    "under_grant",
    "stretch",
    "errors",
}
CASES = cases()


def _intended(action, resource):
    task = deploy_task()
    catalog = grader.load_catalog()
    patterns = task.patterns(action)
    matched = any(
        grader.catalog.wildcard_regex(p).fullmatch(resource) for p in patterns
    )
    return matched and catalog.authorizes(action, resource)


def _required(action):
    return action in deploy_task().intent.actions


@pytest.mark.parametrize("labelled", CASES, ids=[c.name for c in CASES])
def test_each_labelled_case_gets_its_report(labelled):
    expected = labelled.data
    found = report(labelled.text)
    assert found.passes is expected["passes"]
    assert found.checkpoints == expected["checkpoints"]
    wanted_codes = found.codes if found.passes else found.error_codes
    assert expected["diagnosis"] in wanted_codes
    assert found.stretch == expected["stretch"]
    for field in ("over_grant", "under_grant"):
        witnesses = getattr(found, field)
        if expected[field] is None:
            assert witnesses == ()
            continue
        action = expected[field][0]
        same_kind = [
            w
            for w in witnesses
            if w.action == action
            or (
                not _required(action) and w.action.split(":")[0] == action.split(":")[0]
            )
        ]
        assert same_kind, f"no {field} witness like {expected[field]}"


@pytest.mark.parametrize(
    "labelled",
    [c for c in CASES if c.data["over_grant"]],
    ids=[c.name for c in CASES if c.data["over_grant"]],
)
def test_labelled_over_grants_are_allowed_and_not_intended(labelled):
    action, resource = labelled.data["over_grant"]
    assert evaluate_request([labelled.text], action, resource).possible
    assert not _intended(action, resource)


@pytest.mark.parametrize(
    "labelled",
    [c for c in CASES if c.data["under_grant"]],
    ids=[c.name for c in CASES if c.data["under_grant"]],
)
def test_labelled_under_grants_are_needed_and_not_guaranteed(labelled):
    action, resource = labelled.data["under_grant"]
    assert _intended(action, resource)
    assert not evaluate_request([labelled.text], action, resource).allowed


@pytest.mark.parametrize("labelled", CASES, ids=[c.name for c in CASES])
def test_reported_witnesses_are_real(labelled):
    found = report(labelled.text)
    for request in found.over_grant:
        assert evaluate_request(
            [labelled.text], request.action, request.resource
        ).possible
        assert not (_required(request.action) and _intended(*request.to_list()))
    for request in found.under_grant:
        assert _intended(*request.to_list())
        assert not evaluate_request([labelled.text], *request.to_list()).allowed


def test_the_report_has_the_contract_fields_and_is_json():
    data = report(policy(*CANONICAL)).to_dict()
    assert CONTRACT_FIELDS <= set(data)
    assert json.loads(json.dumps(data)) == data
    assert data["file"] == "deploy-bot-policy.json"
    assert {"code", "severity", "statement", "message"} <= set(data["diagnoses"][0])


def test_unparsed_text_reports_where_it_breaks():
    data = report('{"Version": "2012-10-17",}').to_dict()
    assert (data["parsed"], data["valid"], data["passes"]) == (False, False, False)
    assert set(data["checkpoints"].values()) == {None}
    (error,) = data["errors"]
    assert set(error) == {"line", "column", "message"}
    assert data["diagnoses"][0]["code"] == "malformed_json"


def test_a_refused_document_grants_nothing():
    found = report(
        policy(
            *CANONICAL, statement(action="s3:GetObject", resource="*", Principal="*")
        )
    )
    assert not found.valid and found.parsed
    assert set(found.checkpoints.values()) == {False}
    assert found.over_grant == ()
    assert len(found.under_grant) == 4
    assert not any(found.stretch.values())


def test_the_text_rendering_lists_checkpoints_stretch_and_diagnoses():
    text = render_report(report(policy(CANONICAL[0], CANONICAL[2])))
    assert "[FAIL] exact_actions" in text
    assert "[PASS] cloudfront_scoped" in text
    assert "[open] deny_delete_bucket" in text
    assert "missing_action" in text
    assert "s3:ListBucket on arn:aws:s3:::my-frontend-app-assets" in text


def test_a_policy_file_is_checked_under_its_own_name(tmp_path):
    path = tmp_path / "my-policy.json"
    path.write_text(policy(*CANONICAL))
    found = check_policy_file(path, deploy_task())
    assert found.file == "my-policy.json" and found.passes


def test_the_log_reader_task_is_graded_with_no_code_change():
    streams = "arn:aws:logs:us-east-1:123456789012:log-group:app-logs:log-stream:*"
    good = report(
        policy(statement(action="logs:GetLogEvents", resource=streams)), log_task()
    )
    assert good.passes
    assert good.checkpoints == {"only_get_log_events": True, "one_log_group": True}

    broad = report(
        policy(statement(action="logs:Get*", resource="arn:aws:logs:*")), log_task()
    )
    assert broad.checkpoints == {"only_get_log_events": False, "one_log_group": False}
    assert {"wildcard_action_too_broad", "resource_too_broad"} <= set(broad.codes)
    assert any(r.action == "logs:GetLogEvents" for r in broad.over_grant)

    other = streams.replace("app-logs", "web-logs")
    wrong = report(
        policy(statement(action="logs:GetLogEvents", resource=other)), log_task()
    )
    assert wrong.checkpoints == {"only_get_log_events": True, "one_log_group": False}
    assert "resource_not_matched" in wrong.codes
    assert [r.to_list() for r in wrong.under_grant] == [
        ["logs:GetLogEvents", streams.replace("*", "web-1")]
    ]


def test_the_deploy_bot_spec_does_not_grade_the_log_reader():
    streams = "arn:aws:logs:us-east-1:123456789012:log-group:app-logs:log-stream:*"
    found = report(policy(statement(action="logs:GetLogEvents", resource=streams)))
    assert not found.passes
    assert "missing_action" in found.codes


def test_the_public_api_is_pinned():
    assert sorted(grader.__all__) == sorted(
        [
            "DIAGNOSES",
            "Action",
            "ActionCheck",
            "AnalysisInconclusive",
            "Catalog",
            "CheckpointRegistry",
            "CheckpointResult",
            "CheckpointSpec",
            "CompiledPolicy",
            "Decision",
            "Diagnosis",
            "DiagnosisCode",
            "Intent",
            "JsonError",
            "PolicyDocument",
            "PolicyEvaluation",
            "PolicyFileError",
            "PolicyParseError",
            "PolicyProblem",
            "Report",
            "Request",
            "RequiredRequest",
            "ResourceType",
            "ScopeCheck",
            "Statement",
            "StretchGoal",
            "Task",
            "TaskSpecError",
            "check_actions",
            "check_policy_file",
            "check_policy_text",
            "check_scope",
            "compile_policy",
            "default_task",
            "diagnose",
            "evaluate_policy",
            "evaluate_request",
            "load_catalog",
            "load_task",
            "lookup_checkpoint",
            "lookup_diagnosis",
            "make_diagnosis",
            "mask_secret",
            "parse_policy",
            "read_policy_file",
            "render_report",
        ]
    )
    assert all(hasattr(grader, name) for name in grader.__all__)
