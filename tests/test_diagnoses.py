"""The diagnosis registry: every code can be produced, and messages help."""

import pytest

from grader.diagnoses import (
    AWS_ERROR_CODES,
    DIAGNOSES,
    LAB,
    POLICY,
    checkpoints_of,
    describe,
    explain_aws_error,
    lookup_diagnosis,
    make_diagnosis,
    mask_secret,
)
from grader.evaluator import AnalysisInconclusive, clear_caches
from tests.policy_cases import (
    BOT,
    CANONICAL,
    LIST,
    OBJECTS,
    case,
    cases,
    deploy_task,
    log_task,
    policy,
    report,
    statement,
)

CONTRACT_CODES = [
    "ok",
    "malformed_json",
    "missing_version",
    "version_2008",
    "invalid_version",
    "missing_effect",
    "invalid_effect",
    "missing_action_element",
    "missing_resource",
    "principal_in_identity_policy",
    "invalid_sid",
    "duplicate_sid",
    "invalid_character",
    "resource_not_arn",
    "leading_whitespace",
    "policy_too_large",
    "misspelled_action",
    "missing_action",
    "extra_action",
    "wildcard_action_too_broad",
    "notaction_too_broad",
    "notresource_too_broad",
    "deny_blocks_required",
    "condition_restricts",
    "object_actions_on_bucket_arn",
    "listbucket_on_object_arn",
    "s3_arns_swapped",
    "s3_arn_has_region",
    "s3_wrong_bucket",
    "s3_resource_too_broad",
    "bucket_wildcard_too_broad",
    "object_scope_too_narrow",
    "cloudfront_arn_has_region",
    "cloudfront_wrong_account",
    "cloudfront_wrong_distribution",
    "cloudfront_malformed_arn",
    "cloudfront_resource_too_broad",
]

LAB_CODES = [
    "user_missing",
    "console_access_enabled",
    "access_key_missing",
    "access_key_not_stored",
    "policy_not_created",
    "policy_not_attached",
    "invalid_client_token_id",
    "signature_does_not_match",
    "wrong_identity",
    "profile_missing",
]

LOG_STREAMS = "arn:aws:logs:us-east-1:123456789012:log-group:{}:log-stream:*"


def log_policy(group):
    return policy(
        statement(action="logs:GetLogEvents", resource=LOG_STREAMS.format(group))
    )


def _inconclusive_codes(monkeypatch):
    def give_up(language):
        raise AnalysisInconclusive("timeout")

    clear_caches()
    monkeypatch.setattr("grader.evaluator.solve", give_up)
    text = policy(
        statement(action=["s3:PutObject", "s3:DeleteObject"], resource="*"),
        statement(
            "Deny",
            action=["s3:PutObject", "s3:DeleteObject"],
            resource=None,
            NotResource=OBJECTS,
        ),
        *CANONICAL[1:],
    )
    codes = report(text).codes
    clear_caches()
    return codes


EXTRA_PRODUCERS = {
    "ok": lambda mp: report(case("pass_canonical").text).codes,
    "stretch_goal_open": lambda mp: report(case("pass_canonical").text).codes,
    "resource_too_broad": lambda mp: report(log_policy("*"), log_task()).codes,
    "resource_not_matched": lambda mp: report(log_policy("web-logs"), log_task()).codes,
    "analysis_inconclusive": _inconclusive_codes,
}


def _case_for(code):
    return next((c for c in cases() if c.data["diagnosis"] == code), None)


POLICY_CODES = sorted(c.code for c in DIAGNOSES.values() if c.scope == POLICY)


def test_every_contract_code_is_registered():
    assert set(CONTRACT_CODES) <= set(DIAGNOSES)


def test_the_lab_codes_are_registered_as_lab_codes():
    assert {c for c in DIAGNOSES if DIAGNOSES[c].scope == LAB} == set(LAB_CODES)


@pytest.mark.parametrize("code", sorted(DIAGNOSES))
def test_every_registered_code_says_what_it_means(code):
    entry = lookup_diagnosis(code)
    assert entry.severity in ("error", "advice")
    assert entry.symptom and entry.cause and entry.next_step and entry.template


@pytest.mark.parametrize("code", POLICY_CODES)
def test_a_small_policy_produces_each_policy_code(code, monkeypatch):
    found = _case_for(code)
    if found is not None:
        codes = report(found.text).codes
    else:
        codes = EXTRA_PRODUCERS[code](monkeypatch)
    assert code in codes


def test_every_code_the_policy_cases_produce_is_registered_and_every_one_is_produced(
    monkeypatch,
):
    produced = {code for c in cases() for code in report(c.text).codes}
    for producer in EXTRA_PRODUCERS.values():
        produced |= set(producer(monkeypatch))
    assert produced <= set(DIAGNOSES)
    assert produced == set(POLICY_CODES)


@pytest.mark.parametrize("code", LAB_CODES)
def test_each_lab_code_renders_with_the_task_names(code):
    message = describe(code, key_id="AKIAIOSFODNN7EXAMPLE", arn="arn:aws:iam::1:user/x")
    assert "{" not in message
    assert "deploy-bot" in message or "DeployBotPolicy" in message
    assert "AKIAIOSFODNN7EXAMPLE" not in message


def test_an_unknown_code_is_refused():
    with pytest.raises(KeyError, match="not a registered"):
        make_diagnosis("no_such_code")


def test_a_message_needs_its_context():
    with pytest.raises(KeyError, match="needs 'where'"):
        make_diagnosis("missing_effect", deploy_task())


def test_a_message_says_what_where_what_aws_says_and_what_to_change():
    text = policy(
        CANONICAL[0],
        statement(action=LIST, resource=OBJECTS, Sid="AllowListBucket"),
        CANONICAL[2],
    )
    (diagnosis,) = report(text).diagnoses
    assert diagnosis.code == "listbucket_on_object_arn"
    assert diagnosis.statement == "AllowListBucket"
    assert "Statement AllowListBucket" in diagnosis.message
    assert "s3:ListBucket" in diagnosis.message
    assert OBJECTS in diagnosis.message
    assert (
        "An error occurred (AccessDenied) when calling the ListObjectsV2 operation: "
        "Access Denied" in diagnosis.message
    )
    assert (
        "Resource arn:aws:s3:::my-frontend-app-assets, without /*" in diagnosis.message
    )


def test_the_cloudfront_denial_is_shown_in_iams_words():
    (diagnosis,) = report(case("fail_cloudfront_arn_has_region").text).diagnoses
    assert (
        f"User: {BOT} is not authorized to perform: cloudfront:CreateInvalidation"
        in (diagnosis.message)
    )
    assert "S3 sync works but the invalidation is denied" in diagnosis.message


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (
            "invalid_client_token_id",
            ["InvalidClientTokenId", "wrong key pair", "mis-copied"],
        ),
        ("signature_does_not_match", ["SignatureDoesNotMatch", "right", "secret"]),
        ("object_actions_on_bucket_arn", ["/*", "AccessDenied"]),
        ("listbucket_on_object_arn", ["bucket ARN", "/*"]),
        ("cloudfront_arn_has_region", ["region", "invalidation is denied"]),
        ("cloudfront_wrong_account", ["account"]),
        ("cloudfront_wrong_distribution", ["distribution"]),
    ],
)
def test_the_tutorials_failure_diagnoses_are_explained_in_its_terms(code, words):
    entry = DIAGNOSES[code]
    text = f"{entry.symptom} {entry.cause} {entry.template}"
    for word in words:
        assert word in text


def test_a_passing_policy_gets_ok_first_and_only_advice():
    text = policy(
        *CANONICAL, statement("Deny", action="s3:DeleteBuckett", resource="*")
    )
    found = report(text)
    assert found.passes
    assert found.diagnoses[0].code == "ok"
    assert {d.severity for d in found.diagnoses} == {"advice"}
    assert "misspelled_action" in found.codes


def test_diagnoses_name_the_checkpoints_they_bear_on():
    found = report(case("fail_cloudfront_wrong_account").text)
    assert found.diagnoses[0].checkpoints == ("cloudfront_scoped",)
    assert checkpoints_of("listbucket_on_object_arn") == ("s3_scoped",)
    assert "policy_created" in checkpoints_of("principal_in_identity_policy")
    assert checkpoints_of("wrong_identity") == ("identity_verified",)


def test_aws_error_codes_are_explained_as_the_tutorial_teaches():
    assert "secret" in explain_aws_error("SignatureDoesNotMatch")
    assert "key" in explain_aws_error("InvalidAccessKeyId")
    assert "/*" in explain_aws_error("AccessDenied")
    assert explain_aws_error("Throttling") is None
    assert set(AWS_ERROR_CODES.values()) <= set(LAB_CODES)


def test_secrets_are_masked_to_their_last_four_characters():
    assert mask_secret("wJalrXUtnFEMI/K7MDENG") == "*" * 17 + "DENG"
    assert mask_secret("abc") == "abc"
