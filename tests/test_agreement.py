"""The grader and the lab never disagree.

For every labelled policy IAM accepts, the lab's emulator is given the policy
and asked, for real, every request the grader's report names: each over-grant
witness, each under-grant witness and each request the deploy needs. What the
lab answers must be what the grader predicts: a guaranteed request succeeds,
any other fails with AccessDenied. The admin first creates what a request acts
on (bucket, object, object lock); a distribution other than the seeded one
cannot be created with a chosen ID, so an allowed request on it must fail with
NoSuchDistribution, which moto checks only after authorization. A request the
lab cannot make (another account) is decided by the emulator's decision
point, ``moto_fixes.decide``, instead, and listed in NOT_ISSUABLE.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from grader import moto_fixes
from grader.emulator import ACCOUNT_ID, DISTRIBUTION_ID, REGION, Lab
from grader.evaluator import Request, compile_policy, profile_of, rules_for
from grader.policy import parse_policy
from tests.policy_cases import BOT, INVALIDATE, KEY, Case, cases, deploy_task, report

pytestmark = pytest.mark.slow

USER = "deploy-bot"
POLICY_NAME = "DeployBotPolicy"
BODY = b"<h1>deploy-bot lab</h1>"
ACCESS_DENIED = "AccessDenied"

OTHER_ACCOUNT = "arn:aws:cloudfront::111122223333:distribution/E1A2B3C4D5E6F7"

# IAM refuses a customer-managed policy whose Version is not 2012-10-17
# ("Policy document must be version 2012-10-17 or greater"), and so does moto;
# the grader's report calls these documents valid, so the lab cannot hold them.
REFUSED_BY_CREATE_POLICY = {"fail_missing_version", "fail_version_2008"}

# Witnesses the one-account lab cannot issue; the emulator's decision point
# judges them instead.
NOT_ISSUABLE = {
    ("fail_cloudfront_wrong_account", INVALIDATE, OTHER_ACCOUNT): (
        "the distribution is in account 111122223333; the lab has only "
        "123456789012, and the request names only the distribution ID"
    ),
}

# Over-grants that only a conditional Allow makes possible. The lab does not
# evaluate conditions, so a conditional Allow grants nothing there; over plain
# HTTP aws:SecureTransport is false, so AWS would deny this request too.
CONDITIONAL_OVER_GRANTS = {
    ("fail_conditional_extra_action", "s3:GetObject", KEY),
}


# One real call per action: (service, operation, parameters for an ARN)


def _bucket(arn: str) -> str:
    return arn.removeprefix("arn:aws:s3:::").partition("/")[0]


def _key(arn: str) -> str:
    return arn.removeprefix("arn:aws:s3:::").partition("/")[2]


def _object(arn: str) -> dict[str, Any]:
    return {"Bucket": _bucket(arn), "Key": _key(arn)}


def _distribution_id(arn: str) -> str:
    return arn.rpartition("distribution/")[2]


def _invalidation(arn: str) -> dict[str, Any]:
    batch = {"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": "agree"}
    return {"DistributionId": _distribution_id(arn), "InvalidationBatch": batch}


def _bucket_policy(arn: str) -> dict[str, Any]:
    statement = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:DeleteBucket",
        "Resource": arn,
    }
    document = {"Version": "2012-10-17", "Statement": [statement]}
    return {"Bucket": _bucket(arn), "Policy": json.dumps(document)}


@dataclass(frozen=True)
class Call:
    """How the lab is asked one action: a boto3 operation and its parameters."""

    service: str
    operation: str
    parameters: Callable[[str], dict[str, Any]]
    needs_object: bool = False
    needs_object_lock: bool = False


CALLS = {
    "s3:PutObject": Call("s3", "put_object", lambda a: {**_object(a), "Body": BODY}),
    "s3:DeleteObject": Call("s3", "delete_object", _object, needs_object=True),
    "s3:GetObject": Call("s3", "get_object", _object, needs_object=True),
    "s3:ListBucket": Call("s3", "list_objects_v2", lambda a: {"Bucket": _bucket(a)}),
    "s3:PutObjectLegalHold": Call(
        "s3",
        "put_object_legal_hold",
        lambda a: {**_object(a), "LegalHold": {"Status": "OFF"}},
        needs_object=True,
        needs_object_lock=True,
    ),
    "s3:DeleteBucket": Call("s3", "delete_bucket", lambda a: {"Bucket": _bucket(a)}),
    "s3:PutBucketPolicy": Call("s3", "put_bucket_policy", _bucket_policy),
    "cloudfront:CreateInvalidation": Call(
        "cloudfront", "create_invalidation", _invalidation
    ),
    "iam:ListUsers": Call("iam", "list_users", lambda a: {}),
}


# What the grader predicts


@dataclass(frozen=True)
class Probe:
    """One request to put to the lab, and what the grader says about it."""

    kind: str
    request: Request
    guaranteed: bool
    possible: bool

    @property
    def label(self) -> str:
        return f"{self.kind} {self.request.action} on {self.request.resource}"


def _probes(case: Case) -> list[Probe]:
    found = report(case.text)
    policy = compile_policy(parse_policy(case.text))

    def probe(kind: str, request: Request) -> Probe:
        profile = profile_of(rules_for(policy, request.action))
        guaranteed = profile.guaranteed(request.resource)
        return Probe(kind, request, guaranteed, profile.possible(request.resource))

    required = [
        Request(r.action, example)
        for r in deploy_task().required
        for example in r.examples
    ]
    return (
        [probe("over", r) for r in found.over_grant]
        + [probe("under", r) for r in found.under_grant]
        + [probe("required", r) for r in required]
    )


def _unissuable(request: Request) -> str | None:
    """Why the one-account lab cannot make this request, or None if it can."""
    if request.action not in CALLS:
        return f"no call for {request.action} in CALLS"
    account = request.resource.split(":")[4] if request.resource.count(":") > 4 else ""
    if account not in ("", ACCOUNT_ID):
        return f"the resource is in account {account}, the lab has only {ACCOUNT_ID}"
    return None


def _missing_distribution(request: Request) -> bool:
    """A distribution the lab cannot create: moto picks the IDs of new ones."""
    return (
        request.action.startswith("cloudfront:")
        and _distribution_id(request.resource) != DISTRIBUTION_ID
    )


def _accepted_cases() -> list[Case]:
    return [c for c in cases() if report(c.text).valid]


ACCEPTED = _accepted_cases()


# The lab


@pytest.fixture
def connect(lab: Lab) -> Iterator[Callable[..., Any]]:
    """Make boto3 clients on the lab, as admin or with given keys; all closed."""
    made: list[Any] = []
    admin = lab.session()

    def make(service: str, key: dict[str, str] | None = None) -> Any:
        if key is None:
            client = admin.client(service)
        else:
            client = boto3.client(
                service,
                endpoint_url=lab.endpoint,
                region_name=REGION,
                aws_access_key_id=key["AccessKeyId"],
                aws_secret_access_key=key["SecretAccessKey"],
            )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def _make_bot(iam: Any, text: str) -> dict[str, str]:
    """Create the bot with a key and DeployBotPolicy attached, as the admin."""
    iam.create_user(UserName=USER)
    key = iam.create_access_key(UserName=USER)["AccessKey"]
    created = iam.create_policy(PolicyName=POLICY_NAME, PolicyDocument=text)
    arn = created["Policy"]["Arn"]
    iam.attach_user_policy(UserName=USER, PolicyArn=arn)
    return key


def _ensure_bucket(s3: Any, name: str, object_lock: bool) -> None:
    """The bucket exists (with object lock if asked), as the admin makes it."""
    existing = {b["Name"]: b for b in s3.list_buckets()["Buckets"]}
    if name in existing and object_lock and not _has_object_lock(s3, name):
        for item in s3.list_objects_v2(Bucket=name).get("Contents", []):
            s3.delete_object(Bucket=name, Key=item["Key"])
        s3.delete_bucket(Bucket=name)
        del existing[name]
    if name not in existing:
        s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=object_lock)


def _has_object_lock(s3: Any, name: str) -> bool:
    try:
        s3.get_object_lock_configuration(Bucket=name)
    except ClientError:
        return False
    return True


def _prepare(admin_s3: Any, request: Request, call: Call) -> None:
    """Create, as the admin, what the request acts on, so that it can succeed."""
    if call.service != "s3":
        return
    _ensure_bucket(admin_s3, _bucket(request.resource), call.needs_object_lock)
    if call.needs_object:
        admin_s3.put_object(**_object(request.resource), Body=BODY)


def _error_code(client: Any, call: Call, resource: str) -> str | None:
    try:
        getattr(client, call.operation)(**call.parameters(resource))
    except ClientError as error:
        return error.response["Error"]["Code"]
    return None


def _expected(probe: Probe) -> set[str | None]:
    """The error codes the lab may answer with, given the grader's verdict."""
    if not probe.guaranteed:
        return {ACCESS_DENIED}
    if _missing_distribution(probe.request):
        return {"NoSuchDistribution"}
    return {None}


# The tests


def test_every_witness_action_has_a_call_or_a_reason():
    actions = {
        probe.request.action
        for case in ACCEPTED
        for probe in _probes(case)
        if probe.kind != "required"
    }
    assert actions <= set(CALLS), sorted(actions - set(CALLS))


def test_every_over_grant_is_possible_and_every_under_grant_is_not_guaranteed():
    conditional = set()
    for case in ACCEPTED:
        for probe in _probes(case):
            if probe.kind == "over":
                assert probe.possible, (case.name, probe.label)
            if probe.kind == "over" and not probe.guaranteed:
                conditional.add((case.name, *probe.request.to_list()))
            if probe.kind == "under":
                assert not probe.guaranteed, (case.name, probe.label)
    assert conditional == CONDITIONAL_OVER_GRANTS


def test_the_witnesses_the_lab_cannot_issue_are_the_listed_ones():
    found = {
        (case.name, *probe.request.to_list()): _unissuable(probe.request)
        for case in ACCEPTED
        for probe in _probes(case)
        if _unissuable(probe.request) is not None
    }
    assert set(found) == set(NOT_ISSUABLE)


@pytest.mark.parametrize("case", ACCEPTED, ids=[c.name for c in ACCEPTED])
def test_the_lab_answers_what_the_grader_predicts(case, connect):
    probes = _probes(case)
    admin_s3 = connect("s3")
    iam = connect("iam")
    if case.name in REFUSED_BY_CREATE_POLICY:
        _assert_refused(iam, case.text)
        _assert_decided_alike(case.text, probes)
        return

    key = _make_bot(iam, case.text)
    bot = {service: connect(service, key) for service in ("s3", "cloudfront", "iam")}
    issued, disagreements, decided = [], [], []
    for probe in probes:
        reason = _unissuable(probe.request)
        if reason is not None:
            decided.append((probe, reason))
            continue
        call = CALLS[probe.request.action]
        _prepare(admin_s3, probe.request, call)
        code = _error_code(bot[call.service], call, probe.request.resource)
        issued.append(probe)
        if code not in _expected(probe):
            disagreements.append((probe.label, probe.guaranteed, code))

    assert disagreements == []
    _assert_decided_alike(case.text, [probe for probe, _ in decided])
    assert {(case.name, *p.request.to_list()) for p, _ in decided} <= set(NOT_ISSUABLE)
    assert issued


def _assert_refused(iam: Any, text: str) -> None:
    with pytest.raises(ClientError) as refused:
        iam.create_policy(PolicyName=POLICY_NAME, PolicyDocument=text)
    assert refused.value.response["Error"]["Code"] == "MalformedPolicyDocument"


def _assert_decided_alike(text: str, probes: list[Probe]) -> None:
    """The emulator's decision point agrees with the grader's analysis."""
    for probe in probes:
        request = probe.request
        decision = moto_fixes.decide(BOT, [text], request.action, request.resource)
        assert decision.allowed == probe.guaranteed, probe.label
