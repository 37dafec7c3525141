"""IAM semantics, one request at a time and exactly over every request."""

import json

import pytest

from grader.evaluator import (
    AnalysisInconclusive,
    Request,
    check_actions,
    check_scope,
    clear_caches,
    compile_policy,
    covers,
    evaluate_request,
    policy_for,
    resource_glob,
    solve,
)
from grader.policy import parse_policy
from tests.policy_cases import (
    BOT,
    BUCKET,
    CANONICAL,
    DELETE,
    DISTRIBUTION,
    INVALIDATE,
    KEY,
    LIST,
    OBJECTS,
    PUT,
    deploy_task,
    policy,
    statement,
)

S3_ACTIONS = (PUT, DELETE, LIST)
CONDITION = {"Bool": {"aws:SecureTransport": "true"}}


def decide(text, action, resource):
    return evaluate_request([text], action, resource)


def scope(text, actions=S3_ACTIONS):
    clear_caches()
    return check_scope(
        compile_policy(parse_policy(text)), deploy_task().intent, actions
    )


def actions(text):
    clear_caches()
    return check_actions(compile_policy(parse_policy(text)), deploy_task().intent)


@pytest.mark.parametrize("name", ["s3:PutObject", "S3:putobject", "s3:PUTOBJECT"])
def test_action_names_match_in_any_case(name):
    assert decide(policy(statement(action=name, resource=OBJECTS)), PUT, KEY).allowed
    assert decide(policy(statement(action=PUT, resource=OBJECTS)), name, KEY).allowed


def test_resources_match_case_sensitively():
    text = policy(statement(action=PUT, resource=OBJECTS))
    assert not decide(
        text, PUT, "arn:aws:s3:::My-Frontend-App-Assets/index.html"
    ).allowed


def test_question_mark_is_one_character_in_actions_and_resources():
    text = policy(statement(action="s3:?utObject", resource=BUCKET + "/?ndex.html"))
    assert decide(text, PUT, KEY).allowed
    assert not decide(text, PUT, BUCKET + "/iindex.html").allowed
    assert not decide(text, "s3:GetObject", KEY).allowed


def test_wildcards_cross_slash_and_colon():
    text = policy(statement(action="s3:*", resource="arn:aws:*"))
    assert decide(text, PUT, KEY).allowed
    assert decide(policy(statement(action=PUT, resource="arn:?ws:s3:::*")), PUT, KEY)


@pytest.mark.parametrize(
    "pattern",
    [
        "arn:aws:s3:::my-frontend-app-assets/[a-z]*",
        "arn:aws:s3:::my.frontend-app-assets/*",
    ],
)
def test_brackets_and_dots_are_literal(pattern):
    text = policy(statement(action=PUT, resource=pattern))
    assert not decide(text, PUT, KEY).allowed
    assert not decide(text, PUT, "arn:aws:s3:::my-frontend-app-assets/a").allowed


def test_notaction_allows_every_other_action():
    text = policy(statement(action=None, NotAction="iam:*", resource="*"))
    assert decide(text, "s3:GetObject", KEY).allowed
    assert not decide(text, "iam:ListUsers", "*").allowed


def test_notresource_allows_every_other_resource():
    text = policy(statement(action=PUT, resource=None, NotResource=OBJECTS))
    assert decide(text, PUT, "arn:aws:s3:::other-bucket/index.html").allowed
    assert not decide(text, PUT, KEY).allowed


def test_a_deny_with_notresource_does_not_act_as_an_allow():
    deny = statement(
        "Deny", action="s3:*", resource=None, NotResource=[BUCKET, OBJECTS]
    )
    text = policy(deny)
    assert not decide(text, "s3:GetObject", KEY).allowed
    assert not decide(text, PUT, "arn:aws:s3:::other-bucket/k").allowed
    check = actions(policy(deny, CANONICAL[2]))
    assert {r.action for r in check.missing} == set(S3_ACTIONS)


def test_an_explicit_deny_beats_any_allow():
    text = policy(
        *CANONICAL, statement("Deny", action="s3:Delete*", resource="*", Sid="NoDelete")
    )
    decision = decide(text, DELETE, KEY)
    assert not decision.allowed and decision.explicit_deny
    assert decision.statement == "NoDelete"


def test_no_allow_is_an_implicit_deny():
    decision = decide(policy(*CANONICAL), "iam:ListUsers", "*")
    assert not decision.allowed and not decision.explicit_deny
    assert decision.statement is None and not decision.possible


def test_the_deciding_statement_is_its_index_without_a_sid():
    assert decide(policy(*CANONICAL), LIST, BUCKET).statement == 1


def test_a_conditional_allow_is_possible_but_not_guaranteed():
    text = policy(statement(action=PUT, resource=OBJECTS, Condition=CONDITION))
    decision = decide(text, PUT, KEY)
    assert (decision.allowed, decision.possible, decision.conditional) == (
        False,
        True,
        True,
    )


def test_a_conditional_deny_makes_an_allow_conditional():
    text = policy(
        statement(action=PUT, resource=OBJECTS),
        statement("Deny", action=PUT, resource=OBJECTS, Condition=CONDITION),
    )
    decision = decide(text, PUT, KEY)
    assert (decision.allowed, decision.possible, decision.explicit_deny) == (
        False,
        True,
        False,
    )
    assert decision.statement == 1


def test_a_required_grant_under_a_condition_is_not_a_grant():
    text = policy(
        statement(action=[PUT, DELETE], resource=OBJECTS, Condition=CONDITION),
        *CANONICAL[1:],
    )
    assert {r.action for r in actions(text).missing} == {PUT, DELETE}
    assert scope(text).under


def test_an_over_grant_under_a_condition_is_still_an_over_grant():
    extra = statement(action="s3:GetObject", resource=OBJECTS, Condition=CONDITION)
    check = actions(policy(*CANONICAL, extra))
    assert check.extra == (Request("s3:GetObject", KEY),)


def test_merged_statements_are_exact():
    merged = statement(
        action=[PUT, DELETE, LIST, INVALIDATE], resource=[BUCKET, OBJECTS, DISTRIBUTION]
    )
    text = policy(merged)
    assert actions(text).holds
    assert scope(text).holds
    assert scope(text, (INVALIDATE,)).holds


def test_s3_star_trimmed_back_with_a_deny_is_exact():
    text = policy(
        statement(action="s3:*", resource=[BUCKET, OBJECTS]),
        CANONICAL[2],
        statement(
            "Deny", action=None, NotAction=list(S3_ACTIONS), resource=[BUCKET, OBJECTS]
        ),
    )
    assert actions(text).holds
    assert scope(text).holds


def test_a_bucket_name_prefix_wildcard_grants_the_prod_bucket():
    text = policy(
        statement(
            action=[PUT, DELETE], resource="arn:aws:s3:::my-frontend-app-assets*/*"
        ),
        statement(action=LIST, resource="arn:aws:s3:::my-frontend-app-assets*"),
    )
    check = scope(text)
    assert not check.under
    assert Request(LIST, "arn:aws:s3:::my-frontend-app-assets-prod") in check.over
    assert (
        Request(PUT, "arn:aws:s3:::my-frontend-app-assets-prod/index.html")
        in check.over
    )


def test_listbucket_on_the_object_arn_grants_nothing_it_needs():
    text = policy(CANONICAL[0], statement(action=LIST, resource=OBJECTS), CANONICAL[2])
    check = scope(text)
    assert check.under == (Request(LIST, BUCKET),)
    assert not check.over
    assert actions(text).holds


def test_one_statement_naming_both_s3_arns_for_all_s3_actions_is_exact():
    text = policy(
        statement(action=list(S3_ACTIONS), resource=[BUCKET, OBJECTS]), CANONICAL[2]
    )
    assert scope(text).holds


def test_a_partition_wildcard_also_matches_access_point_objects():
    text = policy(
        statement(action=[PUT, DELETE], resource="arn:*:s3:::my-frontend-app-assets/*"),
        CANONICAL[1],
    )
    check = scope(text)
    assert not check.under
    over = next(r for r in check.over if r.action == PUT)
    assert ":accesspoint/" in over.resource
    assert over.resource.endswith(":s3:::my-frontend-app-assets/")
    assert decide(text, PUT, over.resource).allowed


def test_a_partition_wildcard_on_the_bucket_is_exact():
    text = policy(
        CANONICAL[0],
        statement(action=LIST, resource="arn:*:s3:::my-frontend-app-assets"),
    )
    assert scope(text).holds


def test_a_star_allow_cut_down_by_a_deny_notresource_is_exact():
    text = policy(
        statement(action=[PUT, DELETE], resource="*"),
        statement("Deny", action=[PUT, DELETE], resource=None, NotResource=OBJECTS),
        CANONICAL[1],
    )
    assert scope(text).holds


def test_an_uppercase_bucket_names_nothing_that_can_exist():
    text = policy(
        statement(
            action=[PUT, DELETE], resource="arn:aws:s3:::My-Frontend-App-Assets/*"
        ),
        CANONICAL[1],
    )
    check = scope(text)
    assert not check.over
    assert Request(PUT, KEY) in check.under


def test_refused_documents_grant_nothing():
    text = policy(statement(action=PUT, resource=OBJECTS, Principal="*"))
    assert not compile_policy(parse_policy(text)).grants
    assert not decide(text, PUT, KEY).possible


def test_policies_combine_and_a_deny_in_one_beats_an_allow_in_another():
    allow = json.loads(policy(*CANONICAL))
    deny = json.loads(policy(statement("Deny", action=DELETE, resource="*")))
    assert evaluate_request([allow], DELETE, KEY).allowed
    assert evaluate_request([allow, deny], DELETE, KEY).explicit_deny


def test_documents_texts_and_parsed_documents_decide_alike():
    text = policy(*CANONICAL)
    sources = [text, json.loads(text), parse_policy(text), policy_for(text)]
    assert len({evaluate_request([s], PUT, KEY) for s in sources}) == 1


def test_policy_variables_make_a_statement_conditional():
    text = policy(statement(action=PUT, resource="arn:aws:s3:::home/${aws:username}/*"))
    decision = decide(text, PUT, "arn:aws:s3:::home/deploy-bot/k")
    assert decision.possible and not decision.allowed


def test_escaped_policy_variables_are_literal_characters():
    text = policy(statement(action=PUT, resource="arn:aws:s3:::b/${*}"))
    assert decide(text, PUT, "arn:aws:s3:::b/*").allowed
    assert not decide(text, PUT, "arn:aws:s3:::b/k").allowed


def test_policy_variables_are_plain_text_in_the_old_version():
    text = policy(
        statement(action=PUT, resource="arn:aws:s3:::b/${x}"), version="2008-10-17"
    )
    assert decide(text, PUT, "arn:aws:s3:::b/${x}").allowed


def test_denials_are_worded_as_aws_words_them():
    implicit = decide(policy(), PUT, "arn:aws:s3:::b/k")
    assert implicit.message(BOT) == (
        "User: arn:aws:iam::123456789012:user/deploy-bot is not authorized to perform: "
        "s3:PutObject on resource: arn:aws:s3:::b/k because no identity-based policy "
        "allows the s3:PutObject action"
    )
    explicit = decide(
        policy(statement("Deny", action="*", resource="*")), PUT, "arn:aws:s3:::b/k"
    )
    assert explicit.message(BOT).endswith(
        "with an explicit deny in an identity-based policy"
    )


def test_the_cli_error_line_is_short_for_s3_and_full_for_other_services():
    s3 = decide(policy(), PUT, KEY).aws_error(BOT, "PutObject")
    assert (
        s3 == "An error occurred (AccessDenied) when calling the PutObject operation: "
        "Access Denied"
    )
    cloudfront = decide(policy(), INVALIDATE, DISTRIBUTION).aws_error(
        BOT, "CreateInvalidation"
    )
    assert (
        "User: arn:aws:iam::123456789012:user/deploy-bot is not authorized"
        in cloudfront
    )


def test_an_allowed_decision_has_no_denial_message():
    with pytest.raises(ValueError, match="is allowed"):
        decide(policy(*CANONICAL), PUT, KEY).message(BOT)


def test_exact_checks_find_the_missing_and_the_extra():
    text = policy(CANONICAL[0], statement(action="s3:*", resource=OBJECTS))
    check = actions(text)
    assert {r.action for r in check.missing} == {INVALIDATE}
    assert check.extra == (Request("s3:GetObject", KEY),)


def test_the_solver_prefers_a_readable_witness():
    import z3

    language = z3.Concat(
        z3.Re("arn:aws:s3:::b/"), z3.Plus(z3.AllChar(z3.ReSort(z3.StringSort())))
    )
    witness = solve(language)
    assert witness.startswith("arn:aws:s3:::b/") and witness.isprintable()
    assert solve(z3.Empty(z3.ReSort(z3.StringSort()))) is None


def test_a_solver_without_an_answer_raises(monkeypatch):
    import z3

    monkeypatch.setattr(z3.Solver, "check", lambda self, *a: z3.unknown)
    monkeypatch.setattr(z3.Solver, "reason_unknown", lambda self: "timeout")
    with pytest.raises(AnalysisInconclusive, match="timeout"):
        solve(z3.Full(z3.ReSort(z3.StringSort())))


@pytest.mark.parametrize(
    ("wide", "narrow", "expected"),
    [
        ("a*/*", "a/*", True),
        ("*", "a?b", True),
        ("a/*", "a*/*", False),
        ("a?", "a*", False),
        ("a*", "a?", True),
        ("abc", "abc", True),
    ],
)
def test_covers_is_a_sound_inclusion_test(wide, narrow, expected):
    assert covers(resource_glob(wide)[0], resource_glob(narrow)[0]) is expected
