"""Parsing and validation: what create-policy refuses, and where the JSON breaks."""

import json

import pytest

from grader.policy import (
    MAX_POLICY_SIZE,
    PolicyFileError,
    PolicyParseError,
    decode_policy_json,
    parse_policy,
    policy_from_data,
    policy_size,
    read_policy_file,
)
from tests.policy_cases import (
    BUCKET,
    CANONICAL,
    DISTRIBUTION,
    OBJECTS,
    PUT,
    case,
    policy,
    statement,
)

OBJECT_STATEMENT = CANONICAL[0]


def with_objects(**changes):
    """The canonical policy with the object statement changed."""
    first = {**OBJECT_STATEMENT, **changes}
    first = {k: v for k, v in first.items() if v is not None}
    return policy(first, *CANONICAL[1:])


def test_the_canonical_policy_is_valid():
    document = parse_policy(policy(*CANONICAL))
    assert document.parsed and document.valid
    assert document.problems == ()
    assert document.version == "2012-10-17"
    assert document.statements[0].actions == (PUT, "s3:DeleteObject")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (with_objects(Effect="allow"), "invalid_effect"),
        (with_objects(Effect="Permit"), "invalid_effect"),
        (with_objects(Effect=None), "missing_effect"),
        (with_objects(Action=None), "missing_action_element"),
        (with_objects(Action=[]), "missing_action_element"),
        (with_objects(Resource=None), "missing_resource"),
        (with_objects(Principal={"AWS": "*"}), "principal_in_identity_policy"),
        (with_objects(NotPrincipal={"AWS": "*"}), "principal_in_identity_policy"),
        (with_objects(Sid="Allow objects"), "invalid_sid"),
        (with_objects(Sid="Allow_objects"), "invalid_sid"),
        (with_objects(Resource="my-frontend-app-assets/*"), "resource_not_arn"),
        (with_objects(Resource="ARN:AWS:s3:::x/*"), "resource_not_arn"),
        (with_objects(Resource="arn:aws:s3::x/*"), "resource_not_arn"),
        (with_objects(Resource="arn:aws:s3:us-east-1::x/*"), "s3_arn_has_region"),
        (with_objects(Action=["PutObject"]), "invalid_action_format"),
        (with_objects(Action=["s3:Put:Object"]), "invalid_action_format"),
        (with_objects(Action=["s3 :PutObject"]), "invalid_character"),
        (with_objects(Action=["s3:PutObject\u200b"]), "invalid_character"),
        (with_objects(Resource="arn:aws:s3:::my\u2013frontend/*"), "invalid_character"),
        (with_objects(Resource=5), "invalid_element_type"),
        (with_objects(Actions=[PUT]), "unknown_element"),
        (with_objects(effect="Allow"), "unknown_element"),
        (with_objects(NotResource=BUCKET), "conflicting_elements"),
        (with_objects(NotAction="iam:*"), "conflicting_elements"),
        (with_objects(Condition={"StringEqualz": {"a": "b"}}), "invalid_condition"),
        (with_objects(Condition="x"), "invalid_element_type"),
        (policy(), "missing_statement"),
        (policy(*CANONICAL, version="2012-10-18"), "invalid_version"),
        (" " + policy(*CANONICAL), "leading_whitespace"),
        ("\ufeff" + policy(*CANONICAL), "invalid_character"),
    ],
)
def test_what_create_policy_refuses(text, code):
    document = parse_policy(text)
    assert code in [p.code for p in document.refusals]
    assert not document.valid


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (policy(*CANONICAL, version=None), "missing_version"),
        (policy(*CANONICAL, version="2008-10-17"), "version_2008"),
        (with_objects(Action=["s3:PutObjekt"]), "misspelled_action"),
        (with_objects(Action=["s3:Putt*"]), "misspelled_action"),
        (with_objects(Action=["nosuch:PutObject"]), "misspelled_action"),
        (case("fail_duplicate_element").text, "duplicate_element"),
    ],
)
def test_mistakes_iam_accepts_are_found_but_do_not_refuse(text, code):
    document = parse_policy(text)
    assert code in document.codes()
    assert document.valid


def test_misspelled_actions_come_with_the_nearest_real_one():
    document = parse_policy(with_objects(Action=["s3:PutObjekt"]))
    (problem,) = document.problems
    assert problem.suggestion == "s3:PutObject"


def test_duplicate_sids_are_refused_and_named():
    text = policy(
        statement(action=PUT, resource=OBJECTS, Sid="Deploy"),
        statement(action="s3:ListBucket", resource=BUCKET, Sid="Deploy"),
    )
    (problem,) = parse_policy(text).problems
    assert problem.code == "duplicate_sid"
    assert (problem.statement, problem.sid) == (1, "Deploy")


def test_an_empty_sid_is_no_sid():
    document = parse_policy(with_objects(Sid=""))
    assert document.valid
    assert document.statements[0].sid is None


def test_the_size_limit_does_not_count_white_space():
    padded = policy(*CANONICAL).replace("\n", "\n" + " " * 300)
    assert len(padded) > MAX_POLICY_SIZE
    assert parse_policy(padded).valid
    assert policy_size(" a\tb\nc ") == 3


def test_a_policy_over_the_size_limit_is_refused_with_its_size():
    document = parse_policy(case("fail_policy_too_large").text)
    (problem,) = document.problems
    assert problem.code == "policy_too_large"
    assert int(problem.value) > MAX_POLICY_SIZE
    assert problem.iam_error == "LimitExceeded"


def test_a_trailing_comma_is_located_at_the_comma():
    document = parse_policy(case("malformed_trailing_comma").text)
    assert not document.parsed
    (error,) = document.errors
    assert (error.line, error.column) == (21, 6)
    assert "trailing comma" in error.message


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('{"Version": \u201c2012-10-17\u201d}', "straight quotes"),
        ("{'Version': '2012-10-17'}", "double quotes"),
        ('{"Version": "2012-10-17", // comment\n}', "no comments"),
        ('{"Version":\u00a0"2012-10-17"}', "NO-BREAK SPACE"),
        ("[]", "JSON object"),
        ('"text"', "JSON object"),
    ],
)
def test_json_errors_say_what_is_wrong(text, words):
    (error,) = parse_policy(text).errors
    assert words in error.message
    assert error.line >= 1 and error.column >= 1


def test_decode_raises_a_parse_error_with_line_and_column():
    with pytest.raises(PolicyParseError) as raised:
        decode_policy_json('{\n  "Version": "2012-10-17",\n  oops\n}')
    assert (raised.value.line, raised.value.column) == (3, 3)


def test_a_single_statement_object_is_a_statement_list_of_one():
    document = parse_policy(
        json.dumps({"Version": "2012-10-17", "Statement": CANONICAL[2]})
    )
    assert document.valid
    (only,) = document.statements
    assert only.resources == (DISTRIBUTION,)
    assert only.label == "Statement[0]"


def test_statements_know_their_not_elements_and_conditions():
    text = policy(
        statement(action=None, NotAction="iam:*", resource=None, NotResource=BUCKET),
        statement(action=PUT, resource=OBJECTS, Condition={"Bool": {"a": "true"}}),
        statement(action=PUT, resource=OBJECTS, Condition={"Bool": {}}),
    )
    first, second, third = parse_policy(text).statements
    assert first.not_action and first.not_resource
    assert second.conditional and not third.conditional


def test_decoded_policies_are_sized_as_compact_json():
    data = json.loads(policy(*CANONICAL))
    document = policy_from_data(data)
    assert document.valid
    assert " " not in document.text


def test_reading_a_missing_file_says_so(tmp_path):
    with pytest.raises(PolicyFileError, match="does not exist"):
        read_policy_file(tmp_path / "deploy-bot-policy.json")


def test_reading_a_file_that_is_not_utf8_names_the_fix(tmp_path):
    path = tmp_path / "deploy-bot-policy.json"
    path.write_bytes('{"Sid": "caf\u00e9"}'.encode("latin-1"))
    with pytest.raises(PolicyFileError, match="save it as UTF-8"):
        read_policy_file(path)
