"""Generated policies: the grader never crashes, and the exact answers agree
with brute-force evaluation of sampled requests."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.catalog import load_catalog, wildcard_regex
from grader.evaluator import evaluate_request
from tests.policy_cases import deploy_task, report

ACTIONS = [
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:ListBucket",
    "cloudfront:CreateInvalidation",
    "S3:putobject",
    "s3:*",
    "s3:Put*",
    "s3:?utObject",
    "s3:Delete*",
    "s3:GetObject",
    "*",
    "iam:*",
    "cloudfront:*",
    "s3:PutObjekt",
]
PREFIXES = [
    "arn:aws:s3:::",
    "arn:*:s3:::",
    "arn:aws:s3::123456789012:",
    "arn:aws:cloudfront::123456789012:distribution/",
    "arn:aws:cloudfront::111122223333:distribution/",
    "arn:aws:cloudfront:us-east-1:123456789012:distribution/",
]
NAMES = [
    "my-frontend-app-assets",
    "my-frontend-app-assets*",
    "my-frontend-app-asset?",
    "My-Frontend-App-Assets",
    "my.frontend-app-assets",
    "*",
    "E1A2B3C4D5E6F7",
    "E1A2*",
    "e1a2b3c4d5e6f7",
]
SUFFIXES = ["", "/*", "/static/*", "/index.html", "*", "/?ndex.html", "/[a]*"]
CONDITION = {"Bool": {"aws:SecureTransport": "true"}}

REQUEST_ACTIONS = [
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:ListBucket",
    "cloudfront:CreateInvalidation",
    "s3:GetObject",
    "s3:DeleteBucket",
    "s3:PutObjectAcl",
    "iam:ListUsers",
]
REQUEST_RESOURCES = [
    "arn:aws:s3:::my-frontend-app-assets",
    "arn:aws:s3:::my-frontend-app-assets/index.html",
    "arn:aws:s3:::my-frontend-app-assets/static/app.js",
    "arn:aws:s3:::my-frontend-app-assets-prod",
    "arn:aws:s3:::my-frontend-app-assets-prod/index.html",
    "arn:aws:s3:::my-frontend-app-assetz/index.html",
    "arn:aws:s3:::my.frontend-app-assets/index.html",
    "arn:aws:s3:::other-bucket",
    "arn:aws:cloudfront::123456789012:distribution/E1A2B3C4D5E6F7",
    "arn:aws:cloudfront::123456789012:distribution/E1A2B3C4D5E6F8",
    "arn:aws:cloudfront::111122223333:distribution/E1A2B3C4D5E6F7",
    "*",
]

resources = st.one_of(
    st.just("*"),
    st.builds(
        lambda p, n, s: p + n + s,
        st.sampled_from(PREFIXES),
        st.sampled_from(NAMES),
        st.sampled_from(SUFFIXES),
    ),
)


@st.composite
def statements(draw):
    effects = ["Allow", "Allow", "Deny", "Deny", "Allow", "Deny", "allow"]
    found = {"Effect": draw(st.sampled_from(effects))}
    if draw(st.integers(0, 9)) == 0:
        found["Sid"] = draw(st.sampled_from(["Deploy", "Deploy", "Bad Sid"]))
    key = "NotAction" if draw(st.integers(0, 5)) == 0 else "Action"
    found[key] = draw(st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=3))
    key = "NotResource" if draw(st.integers(0, 5)) == 0 else "Resource"
    found[key] = draw(st.lists(resources, min_size=1, max_size=3))
    if draw(st.integers(0, 5)) == 0:
        found["Condition"] = CONDITION
    if draw(st.integers(0, 30)) == 0:
        found["Principal"] = "*"
    if draw(st.integers(0, 30)) == 0:
        del found["Effect"]
    return found


GOOD = [
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
    {
        "Effect": "Allow",
        "Action": "cloudfront:CreateInvalidation",
        "Resource": "arn:aws:cloudfront::123456789012:distribution/E1A2B3C4D5E6F7",
    },
]


@st.composite
def mutated(draw, statement):
    """A good statement, sometimes with one element swapped for a generated one."""
    changed = dict(statement)
    choice = draw(st.integers(0, 7))
    if choice == 5:
        changed["Action"] = draw(
            st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=2)
        )
    elif choice == 6:
        changed["Resource"] = draw(st.lists(resources, min_size=1, max_size=2))
    elif choice == 7:
        changed["Condition"] = CONDITION
    return changed


@st.composite
def policy_texts(draw):
    good = [draw(mutated(s)) for s in GOOD if draw(st.integers(0, 5)) < 5]
    extra = draw(st.lists(statements(), max_size=2))
    found = draw(st.permutations(good + extra)) or draw(
        st.lists(statements(), min_size=1)
    )
    document = {
        "Version": draw(st.sampled_from(["2012-10-17"] * 6 + ["2008-10-17", None])),
        "Statement": found,
    }
    if document["Version"] is None:
        del document["Version"]
    text = json.dumps(document, indent=2)
    damage = draw(st.integers(0, 20))
    if damage == 20:
        text = text[: draw(st.integers(0, len(text)))]
    elif damage == 19:
        text = " " + text
    elif damage == 18:
        text = text.replace("]\n}", "],\n}", 1)
    return text


def _sampled_resources(text):
    """The fixed request resources plus instances of the policy's own patterns."""
    found = list(REQUEST_RESOURCES)
    for item in json.loads(text)["Statement"]:
        patterns = item.get("Resource", item.get("NotResource", []))
        for pattern in [patterns] if isinstance(patterns, str) else patterns:
            for filler in ("", "x", "-prod/index.html"):
                found.append(pattern.replace("*", filler).replace("?", "x"))
    return list(dict.fromkeys(found))


def _intended(action, resource):
    task = deploy_task()
    patterns = task.patterns(action)
    hit = any(wildcard_regex(p).fullmatch(resource) for p in patterns)
    return hit and load_catalog().authorizes(action, resource)


PROPERTY_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@PROPERTY_SETTINGS
@given(policy_texts())
def test_the_grader_never_crashes_and_keeps_its_invariants(text):
    found = report(text)
    data = found.to_dict()
    assert json.loads(json.dumps(data)) == data
    if found.passes:
        assert found.valid and all(found.checkpoints.values())
    if not found.parsed:
        assert set(found.checkpoints.values()) == {None}
    elif not found.valid:
        assert set(found.checkpoints.values()) == {False}
        assert found.over_grant == ()
    if not found.passes and found.parsed:
        assert found.error_codes


@PROPERTY_SETTINGS
@given(policy_texts())
def test_exact_answers_agree_with_brute_force(text):
    found = report(text)
    if not found.valid:
        return
    task = deploy_task()
    catalog = load_catalog()
    required = set(task.intent.actions)
    scoped = {a: c.id for c in task.policy_checkpoints for a in c.actions}
    for action in REQUEST_ACTIONS:
        for resource in _sampled_resources(text):
            decision = evaluate_request([text], action, resource)
            if action not in required and found.checkpoints["exact_actions"]:
                assert not decision.possible, (action, resource)
            if action not in scoped or not found.checkpoints[scoped[action]]:
                continue
            if not catalog.authorizes(action, resource):
                continue
            if decision.possible:
                assert _intended(action, resource), (action, resource)
            if _intended(action, resource):
                assert decision.allowed, (action, resource)


@PROPERTY_SETTINGS
@given(policy_texts())
def test_every_witness_is_a_real_counterexample(text):
    found = report(text)
    required = set(deploy_task().intent.actions)
    for request in found.over_grant:
        decision = evaluate_request([text], request.action, request.resource)
        assert decision.possible, request
        assert request.action not in required or not _intended(*request.to_list())
    for request in found.under_grant:
        assert _intended(*request.to_list()), request
        assert not evaluate_request([text], *request.to_list()).allowed, request
