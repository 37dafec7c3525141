"""The lab's emulator, for real: a moto server over HTTP, the aws CLI, boto3."""

import configparser
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from grader import emulator, keys, moto_fixes
from grader.emulator import (
    ACCOUNT_ID,
    ADMIN_ACCESS_KEY_ID,
    ADMIN_ARN,
    ADMIN_SECRET_ACCESS_KEY,
    BUCKET,
    DISTRIBUTION_ID,
    INFO_FILE,
    LAB_DIR_VARIABLE,
    EmulatorNotLoopback,
    Lab,
)

AWS = str(Path(sys.executable).with_name("aws"))
COMMON = ["--region", "us-east-1", "--output", "json"]
BOT = "deploy-bot"
BOT_ARN = f"arn:aws:iam::{ACCOUNT_ID}:user/{BOT}"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
DISTRIBUTION_ARN = f"arn:aws:cloudfront::{ACCOUNT_ID}:distribution/{DISTRIBUTION_ID}"
UNKNOWN_KEY_ID = "AKIAUNKNOWNKEY000001"
FAKE_SECRET = "NotTheRealSecretOfAnyKeyInThisLab0000000"


def allow(actions, resources, effect="Allow", element="Resource"):
    """A one-statement policy document."""
    statement = {"Effect": effect, "Action": actions, element: resources}
    return {"Version": "2012-10-17", "Statement": [statement]}


def tutorial_policy(distribution_arn=DISTRIBUTION_ARN):
    """The tutorial's DeployBotPolicy, with the CloudFront ARN replaceable."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowS3DeploySync",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:DeleteObject"],
                "Resource": f"{BUCKET_ARN}/*",
            },
            {
                "Sid": "AllowS3ListBucket",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": BUCKET_ARN,
            },
            {
                "Sid": "AllowCloudFrontInvalidation",
                "Effect": "Allow",
                "Action": "cloudfront:CreateInvalidation",
                "Resource": distribution_arn,
            },
        ],
    }


def aws(*args, profile=None, env=None, cwd=None):
    """Run the real aws CLI with the tutorial's common options."""
    command = [AWS, *args, *COMMON] + (["--profile", profile] if profile else [])
    return subprocess.run(
        command,
        check=False,
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def set_profile(lab, profile, key_id, secret):
    """Write a named profile into the lab's files, as `aws configure` would."""
    for path, section, values in [
        (lab.credentials_file, profile, {"aws_access_key_id": key_id}),
        (lab.config_file, f"profile {profile}", {"region": "us-east-1"}),
    ]:
        if path == lab.credentials_file:
            values["aws_secret_access_key"] = secret
        parser = configparser.RawConfigParser()
        parser.read(path)
        parser[section] = values
        with open(path, "w") as handle:
            parser.write(handle)


def make_bot(clients, lab, policy, name=BOT):
    """Create the user with one access key and an inline policy; return the key."""
    iam = clients("iam")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    document = json.dumps(policy)
    iam.put_user_policy(UserName=name, PolicyName="Test", PolicyDocument=document)
    set_profile(lab, name, key["AccessKeyId"], key["SecretAccessKey"])
    return key


def error_code(call, *args, **kwargs):
    """The AWS error code a boto3 call fails with, or None if it succeeds."""
    try:
        call(*args, **kwargs)
    except ClientError as error:
        return error.response["Error"]["Code"]
    return None


def run_python(code, env, **kwargs):
    """Run code in a fresh interpreter, as a kernel would."""
    return subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        **kwargs,
    )


def emulator_cli(*args, env=None):
    """Run python -m grader.emulator."""
    command = [sys.executable, "-m", "grader.emulator", *args]
    return subprocess.run(
        command, check=False, env=env, capture_output=True, text=True, timeout=90
    )


# Enforcement from the first request


def test_first_request_with_an_unknown_key_is_refused(tmp_path):
    fresh = emulator.start_embedded(tmp_path / "fresh")
    session = boto3.Session(
        aws_access_key_id=UNKNOWN_KEY_ID,
        aws_secret_access_key=FAKE_SECRET,
        region_name="us-east-1",
    )
    unsigned = Config(signature_version=UNSIGNED)
    made = [
        session.client("sts", endpoint_url=fresh.endpoint),
        session.client("s3", endpoint_url=fresh.endpoint),
        session.client("sts", endpoint_url=fresh.endpoint, config=unsigned),
        session.client("s3", endpoint_url=fresh.endpoint, config=unsigned),
    ]
    sts, s3, anonymous_sts, anonymous_s3 = made
    try:
        assert error_code(sts.get_caller_identity) == "InvalidClientTokenId"
        assert error_code(s3.list_objects_v2, Bucket=BUCKET) == "InvalidAccessKeyId"
        assert (
            error_code(anonymous_sts.get_caller_identity)
            == "MissingAuthenticationToken"
        )
        assert error_code(anonymous_s3.list_objects_v2, Bucket=BUCKET) == (
            "AccessDenied"
        )
    finally:
        for client in made:
            client.close()
        fresh.close()


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/moto-api/reset-auth"), ("GET", "/moto-api/data.json")],
    ids=["reset-auth", "data-json"],
)
def test_control_api_cannot_switch_enforcement_off_or_show_secrets(lab, method, path):
    assert emulator._request(lab.endpoint, method, path) == 403


# Seeded state


def test_seed_is_present_after_start_and_after_reset(lab, clients):
    iam, s3, cloudfront = clients("iam"), clients("s3"), clients("cloudfront")
    assert clients("sts").get_caller_identity()["Arn"] == ADMIN_ARN
    iam.create_user(UserName="temporary")
    s3.put_object(Bucket=BUCKET, Key="index.html", Body=b"<h1>hi</h1>")

    lab.reset()

    users = [u["UserName"] for u in iam.list_users()["Users"]]
    assert users == ["admin"]
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [BUCKET]
    assert s3.list_objects_v2(Bucket=BUCKET)["KeyCount"] == 0
    distribution = cloudfront.get_distribution(Id=DISTRIBUTION_ID)["Distribution"]
    assert distribution["ARN"] == DISTRIBUTION_ARN
    origin = distribution["DistributionConfig"]["Origins"]["Items"][0]
    assert origin["DomainName"] == f"{BUCKET}.s3.amazonaws.com"


def test_emulator_log_never_shows_the_admin_secret(lab, clients):
    clients("sts").get_caller_identity()
    log_text = (lab.lab_dir / emulator.LOG_FILE).read_text()
    assert "seeded account" in log_text
    assert ADMIN_SECRET_ACCESS_KEY not in log_text
    assert keys.mask(ADMIN_SECRET_ACCESS_KEY) in log_text


# CloudFront


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        (DISTRIBUTION_ARN, None),
        (DISTRIBUTION_ARN.replace("::", ":us-east-1:", 1), "AccessDenied"),
        (DISTRIBUTION_ARN.replace(ACCOUNT_ID, "210987654321"), "AccessDenied"),
        (DISTRIBUTION_ARN.replace(DISTRIBUTION_ID, "E7F6D5C4B3A2A1"), "AccessDenied"),
    ],
    ids=["correct-arn", "arn-with-region", "wrong-account", "wrong-id"],
)
def test_invalidation_is_authorized_against_the_distribution_arn(
    lab, clients, resource, expected
):
    make_bot(clients, lab, allow("cloudfront:CreateInvalidation", resource))
    done = aws(
        "cloudfront",
        "create-invalidation",
        "--distribution-id",
        DISTRIBUTION_ID,
        "--paths",
        "/*",
        profile=BOT,
    )
    if expected is None:
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["Invalidation"]["Status"] == "COMPLETED"
    else:
        assert done.returncode != 0
        assert f"({expected})" in done.stderr
        assert f"on resource: {DISTRIBUTION_ARN}" in done.stderr


def test_admin_reads_distributions_with_the_cli(lab):
    listed = aws("cloudfront", "list-distributions")
    assert listed.returncode == 0, listed.stderr
    items = json.loads(listed.stdout)["DistributionList"]["Items"]
    assert [item["Id"] for item in items] == [DISTRIBUTION_ID]

    got = aws("cloudfront", "get-distribution", "--id", DISTRIBUTION_ID)
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["Distribution"]["ARN"] == DISTRIBUTION_ARN


def test_cloudfront_errors_carry_their_code(lab, clients):
    make_bot(clients, lab, allow("s3:ListBucket", BUCKET_ARN))
    bot = clients("cloudfront", BOT)
    assert error_code(bot.list_distributions) == "AccessDenied"
    cloudfront = clients("cloudfront")
    assert error_code(cloudfront.get_distribution, Id="ENOSUCHID") == (
        "NoSuchDistribution"
    )


# The stock-moto gaps


def test_put_object_with_an_acl_also_needs_put_object_acl(lab, clients, tmp_path):
    page = tmp_path / "index.html"
    page.write_text("<h1>hi</h1>")
    make_bot(clients, lab, allow("s3:PutObject", f"{BUCKET_ARN}/*"))
    target = f"s3://{BUCKET}/index.html"

    plain = aws("s3", "cp", str(page), target, profile=BOT)
    assert plain.returncode == 0, plain.stderr
    with_acl = aws("s3", "cp", str(page), target, "--acl", "public-read", profile=BOT)
    assert with_acl.returncode != 0
    assert "(AccessDenied)" in with_acl.stderr

    s3 = clients("s3", BOT)
    grant = {"GrantRead": 'uri="http://acs.amazonaws.com/groups/global/AllUsers"'}
    put = s3.put_object
    assert error_code(put, Bucket=BUCKET, Key="a", Body=b"a", **grant) == (
        "AccessDenied"
    )


def test_put_object_acl_allowed_lets_the_acl_through(lab, clients):
    actions = ["s3:PutObject", "s3:PutObjectAcl"]
    make_bot(clients, lab, allow(actions, f"{BUCKET_ARN}/*"))
    s3 = clients("s3", BOT)
    s3.put_object(Bucket=BUCKET, Key="a.html", Body=b"a", ACL="public-read")


def test_delete_objects_is_authorized_per_key(lab, clients):
    for key in ("public/a.html", "private/b.html"):
        clients("s3").put_object(Bucket=BUCKET, Key=key, Body=b"x")
    make_bot(clients, lab, allow("s3:DeleteObject", f"{BUCKET_ARN}/public/*"))

    objects = [{"Key": "public/a.html"}, {"Key": "private/b.html"}]
    result = clients("s3", BOT).delete_objects(
        Bucket=BUCKET, Delete={"Objects": objects}
    )

    assert [d["Key"] for d in result["Deleted"]] == ["public/a.html"]
    assert [(e["Key"], e["Code"]) for e in result["Errors"]] == [
        ("private/b.html", "AccessDenied")
    ]
    left = clients("s3").list_objects_v2(Bucket=BUCKET)["Contents"]
    assert [o["Key"] for o in left] == ["private/b.html"]


def test_delete_objects_with_the_tutorial_policy_deletes_every_key(lab, clients):
    clients("s3").put_object(Bucket=BUCKET, Key="a.js", Body=b"x")
    make_bot(clients, lab, tutorial_policy())
    done = aws(
        "s3api",
        "delete-objects",
        "--bucket",
        BUCKET,
        "--delete",
        '{"Objects": [{"Key": "a.js"}]}',
        profile=BOT,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"Deleted": [{"Key": "a.js"}]}


@pytest.mark.parametrize(
    ("resource", "allowed"),
    [(BUCKET_ARN, True), (f"{BUCKET_ARN}/*", False)],
    ids=["bucket-arn", "object-arn"],
)
def test_head_bucket_needs_list_bucket_on_the_bucket(lab, clients, resource, allowed):
    make_bot(clients, lab, allow("s3:ListBucket", resource))
    code = error_code(clients("s3", BOT).head_bucket, Bucket=BUCKET)
    assert code == (None if allowed else "403")


def test_inactive_key_stops_authenticating(lab, clients):
    key = make_bot(clients, lab, tutorial_policy())
    iam = clients("iam")
    bot = {name: clients(name, BOT) for name in ("sts", "s3", "cloudfront", "iam")}
    assert bot["sts"].get_caller_identity()["Arn"] == BOT_ARN

    update = iam.update_access_key
    update(UserName=BOT, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    assert error_code(bot["sts"].get_caller_identity) == "InvalidClientTokenId"
    assert error_code(bot["iam"].list_users) == "InvalidClientTokenId"
    assert error_code(bot["cloudfront"].list_distributions) == "InvalidClientTokenId"
    assert error_code(bot["s3"].list_objects_v2, Bucket=BUCKET) == (
        "InvalidAccessKeyId"
    )

    update(UserName=BOT, AccessKeyId=key["AccessKeyId"], Status="Active")
    assert bot["sts"].get_caller_identity()["Arn"] == BOT_ARN


def test_iam_access_denied_names_the_user_the_action_and_the_resource(lab, clients):
    make_bot(clients, lab, tutorial_policy())
    done = aws("iam", "list-users", profile=BOT)
    assert done.returncode != 0
    assert "(AccessDenied)" in done.stderr
    assert (
        f"User: {BOT_ARN} is not authorized to perform: iam:ListUsers on resource: "
        f"arn:aws:iam::{ACCOUNT_ID}:user/ because no identity-based policy allows "
        "the iam:ListUsers action"
    ) in done.stderr


def test_explicit_deny_is_worded_as_one(lab, clients):
    policy = allow("cloudfront:*", "*")
    policy["Statement"].append(
        {"Effect": "Deny", "Action": "cloudfront:GetDistribution", "Resource": "*"}
    )
    make_bot(clients, lab, policy)
    bot = clients("cloudfront", BOT)
    with pytest.raises(ClientError) as denied:
        bot.get_distribution(Id=DISTRIBUTION_ID)
    assert denied.value.response["Error"]["Message"] == (
        f"User: {BOT_ARN} is not authorized to perform: cloudfront:GetDistribution "
        f"on resource: {DISTRIBUTION_ARN} with an explicit deny in an "
        "identity-based policy"
    )


def test_s3_denials_say_access_denied_as_on_aws(lab, clients):
    make_bot(clients, lab, allow("s3:ListBucket", BUCKET_ARN))
    with pytest.raises(ClientError) as denied:
        clients("s3", BOT).put_object(Bucket=BUCKET, Key="a", Body=b"a")
    assert denied.value.response["Error"]["Message"] == "Access Denied"


def test_decide_words_implicit_and_explicit_denials():
    allowed = moto_fixes.decide(
        BOT_ARN,
        [json.dumps(tutorial_policy())],
        "s3:PutObject",
        f"{BUCKET_ARN}/index.html",
    )
    assert allowed == moto_fixes.AccessDecision(True, False, "")

    implicit = moto_fixes.decide(BOT_ARN, [], "iam:ListUsers", "*")
    assert implicit.message == (
        f"User: {BOT_ARN} is not authorized to perform: iam:ListUsers because no "
        "identity-based policy allows the iam:ListUsers action"
    )
    deny = json.dumps(allow("s3:*", "*", effect="Deny"))
    explicit = moto_fixes.decide(BOT_ARN, [deny], "s3:DeleteBucket", BUCKET_ARN)
    assert (explicit.allowed, explicit.explicit_deny) == (False, True)


def secure_transport_only(policy):
    """The policy with a Condition on every statement."""
    for statement in policy["Statement"]:
        statement["Condition"] = {"Bool": {"aws:SecureTransport": "true"}}
    return policy


OBJECT = f"{BUCKET_ARN}/index.html"
OTHER_OBJECT = "arn:aws:s3:::my-frontend-app-assets-prod/index.html"
BUCKET_AND_OBJECTS = [BUCKET_ARN, f"{BUCKET_ARN}/*"]


@pytest.mark.parametrize(
    ("statements", "action", "resource", "expected"),
    [
        (
            [secure_transport_only(allow("s3:PutObject", f"{BUCKET_ARN}/*"))],
            "s3:PutObject",
            OBJECT,
            "implicit",
        ),
        ([allow("S3:putobject", f"{BUCKET_ARN}/*")], "s3:PutObject", OBJECT, "allow"),
        (
            [allow("s3:PutObject", "arn:aws:s3:::my-frontend-app-asset?/*")],
            "s3:PutObject",
            OBJECT,
            "allow",
        ),
        (
            [allow("s3:PutObject", "arn:aws:s3:::my-frontend-app-asset?/*")],
            "s3:PutObject",
            "arn:aws:s3:::my-frontend-app-asset/index.html",
            "implicit",
        ),
        (
            [allow("s3:PutObject", "arn:aws:s3:::my.frontend-app-assets/*")],
            "s3:PutObject",
            OBJECT,
            "implicit",
        ),
        (
            [allow("s3:PutObject", "arn:aws:s3:::my-frontend-app-asset[s]/*")],
            "s3:PutObject",
            OBJECT,
            "implicit",
        ),
        (
            [allow("s3:PutObject", f"{BUCKET_ARN.upper()}/*")],
            "s3:PutObject",
            OBJECT,
            "implicit",
        ),
        (
            [allow("s3:PutObject", f"{BUCKET_ARN}/*", element="NotResource")],
            "s3:PutObject",
            OBJECT,
            "implicit",
        ),
        (
            [allow("s3:PutObject", f"{BUCKET_ARN}/*", element="NotResource")],
            "s3:PutObject",
            OTHER_OBJECT,
            "allow",
        ),
        (
            [allow("s3:*", BUCKET_AND_OBJECTS, "Deny", "NotResource")],
            "s3:GetObject",
            OBJECT,
            "implicit",
        ),
        (
            [
                allow("s3:*", "*"),
                allow("s3:*", BUCKET_AND_OBJECTS, "Deny", "NotResource"),
            ],
            "s3:PutObject",
            OTHER_OBJECT,
            "explicit",
        ),
        (
            [allow("s3:*", "*"), allow("s3:DeleteBucket", BUCKET_ARN, "Deny")],
            "s3:DeleteBucket",
            BUCKET_ARN,
            "explicit",
        ),
    ],
    ids=[
        "conditional-allow-is-no-grant",
        "action-case-folded",
        "question-mark-one-char",
        "question-mark-not-zero-chars",
        "dot-is-literal",
        "brackets-are-literal",
        "resource-case-kept",
        "not-resource-excludes",
        "not-resource-includes-the-rest",
        "deny-not-resource-is-no-allow",
        "deny-not-resource-denies-the-rest",
        "explicit-deny-beats-allow",
    ],
)
def test_decide_follows_iam_semantics(statements, action, resource, expected):
    documents = [json.dumps(document) for document in statements]
    decision = moto_fixes.decide(BOT_ARN, documents, action, resource)
    outcome = {(True, False): "allow", (False, False): "implicit"}
    assert outcome.get(decision[:2], "explicit") == expected


@pytest.mark.parametrize(
    ("policy", "code"),
    [
        (allow("S3:putobject", f"{BUCKET_ARN}/*"), None),
        (allow("s3:PutObject", "arn:aws:s3:::my-frontend-app-asset?/*"), None),
        (allow("s3:*", BUCKET_AND_OBJECTS, "Deny", "NotResource"), "AccessDenied"),
        (secure_transport_only(allow("s3:PutObject", "*")), "AccessDenied"),
    ],
    ids=[
        "action-case-folded",
        "question-mark",
        "deny-not-resource-alone",
        "conditional-allow",
    ],
)
def test_the_emulator_enforces_what_the_grader_decides(lab, clients, policy, code):
    make_bot(clients, lab, policy)
    put = clients("s3", BOT).put_object
    assert error_code(put, Bucket=BUCKET, Key="index.html", Body=b"hi") == code


@pytest.mark.parametrize(
    ("pattern", "value", "fold_case", "matches"),
    [
        ("s3:Put*", "S3:PUTOBJECT", True, True),
        ("s3:Put*", "S3:PUTOBJECT", False, False),
        ("arn:aws:s3:::b?/*", "arn:aws:s3:::bx/k/l", False, True),
        ("arn:aws:s3:::b?/*", "arn:aws:s3:::b/k", False, False),
        ("arn:aws:s3:::b.c/*", "arn:aws:s3:::bxc/k", False, False),
        ("arn:aws:s3:::b[c]/*", "arn:aws:s3:::b[c]/k", False, True),
    ],
)
def test_moto_side_matching_is_iams(pattern, value, fold_case, matches):
    assert moto_fixes.glob_matches(pattern, value, fold_case) is matches


# The tutorial, end to end with the CLI


@pytest.mark.slow
def test_tutorial_happy_path_with_the_cli(lab, tmp_path):
    policy_file = tmp_path / "deploy-bot-policy.json"
    policy_file.write_text(json.dumps(tutorial_policy(), indent=2))

    assert aws("iam", "create-user", "--user-name", BOT).returncode == 0
    created = aws("iam", "create-access-key", "--user-name", BOT)
    key = json.loads(created.stdout)["AccessKey"]
    policy = aws(
        "iam",
        "create-policy",
        "--policy-name",
        "DeployBotPolicy",
        "--policy-document",
        "file://deploy-bot-policy.json",
        cwd=tmp_path,
    )
    policy_arn = json.loads(policy.stdout)["Policy"]["Arn"]
    assert policy_arn == f"arn:aws:iam::{ACCOUNT_ID}:policy/DeployBotPolicy"
    attach = ["attach-user-policy", "--user-name", BOT, "--policy-arn", policy_arn]
    assert aws("iam", *attach).returncode == 0

    for name, value in [
        ("aws_access_key_id", key["AccessKeyId"]),
        ("aws_secret_access_key", key["SecretAccessKey"]),
        ("region", "us-east-1"),
        ("output", "json"),
    ]:
        done = subprocess.run(
            [AWS, "configure", "set", name, value, "--profile", BOT],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(lab.credentials_file.stat().st_mode) == 0o600

    identity = aws("sts", "get-caller-identity", profile=BOT)
    assert json.loads(identity.stdout)["Arn"] == BOT_ARN

    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<h1>v1</h1>")
    (site / "old.js").write_text("console.log(1)")
    sync = ["s3", "sync", str(site), f"s3://{BUCKET}", "--delete"]
    first = aws(*sync, profile=BOT)
    assert first.returncode == 0, first.stderr
    (site / "old.js").unlink()
    second = aws(*sync, profile=BOT)
    assert second.returncode == 0, second.stderr
    assert f"delete: s3://{BUCKET}/old.js" in second.stdout

    listed = aws("s3api", "list-objects-v2", "--bucket", BUCKET)
    assert [o["Key"] for o in json.loads(listed.stdout)["Contents"]] == ["index.html"]

    invalidation = aws(
        "cloudfront",
        "create-invalidation",
        "--distribution-id",
        DISTRIBUTION_ID,
        "--paths",
        "/*",
        profile=BOT,
    )
    assert invalidation.returncode == 0, invalidation.stderr


@pytest.mark.parametrize(
    ("service_call", "key_id", "secret", "code"),
    [
        (
            ("sts", "get-caller-identity"),
            UNKNOWN_KEY_ID,
            FAKE_SECRET,
            "InvalidClientTokenId",
        ),
        (
            ("s3api", "list-objects-v2", "--bucket", BUCKET),
            UNKNOWN_KEY_ID,
            FAKE_SECRET,
            "InvalidAccessKeyId",
        ),
        (
            ("sts", "get-caller-identity"),
            ADMIN_ACCESS_KEY_ID,
            FAKE_SECRET,
            "SignatureDoesNotMatch",
        ),
    ],
    ids=["unknown-id-sts", "unknown-id-s3", "right-id-wrong-secret"],
)
def test_wrong_keys_fail_as_the_tutorial_says(lab, service_call, key_id, secret, code):
    set_profile(lab, "wrong", key_id, secret)
    done = aws(*service_call, profile="wrong")
    assert done.returncode != 0
    assert f"({code})" in done.stderr


# connect_lab


KERNEL_CREATES_USER = """
import json, time
from grader.emulator import connect_lab
lab = connect_lab()
iam = lab.session().client("iam")
iam.create_user(UserName="survivor")
iam.close()
print(json.dumps({"endpoint": lab.endpoint, "embedded": lab.process is not None}),
      flush=True)
time.sleep(600)
"""

KERNEL_LISTS_USERS = """
import json
from grader.emulator import connect_lab
lab = connect_lab()
iam = lab.session().client("iam")
users = [u["UserName"] for u in iam.list_users()["Users"]]
iam.close()
print(json.dumps({"endpoint": lab.endpoint, "users": users,
                  "embedded": lab.process is not None}))
"""

KERNEL_EMBEDS = """
import json, os, time
from grader.emulator import connect_lab
lab = connect_lab()
print(json.dumps({"endpoint": lab.endpoint, "lab_dir": str(lab.lab_dir),
                  "server": lab.process.pid,
                  "env_lab_dir": os.environ["DEPLOY_BOT_LAB_DIR"]}), flush=True)
time.sleep(600)
"""


def _kill(process):
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stdout.close()


def _wait_until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.mark.slow
def test_started_emulator_outlives_the_kernels_that_use_it(tmp_path):
    lab_dir = tmp_path / "lab"
    started = emulator_cli("start", "--lab-dir", str(lab_dir))
    assert started.returncode == 0, started.stderr
    endpoint = started.stdout.strip()
    env = dict(os.environ, **{LAB_DIR_VARIABLE: str(lab_dir)})
    try:
        again = emulator_cli("start", "--lab-dir", str(lab_dir))
        assert again.stdout.strip() == endpoint
        status = emulator_cli("status", "--lab-dir", str(lab_dir))
        assert (status.returncode, status.stdout.split()[0]) == (0, endpoint)

        kernel = subprocess.Popen(
            [sys.executable, "-c", KERNEL_CREATES_USER],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        first = json.loads(kernel.stdout.readline())
        _kill(kernel)
        assert first == {"endpoint": endpoint, "embedded": False}

        second = run_python(KERNEL_LISTS_USERS, env)
        assert second.returncode == 0, second.stderr
        seen = json.loads(second.stdout)
        assert seen == {
            "endpoint": endpoint,
            "users": ["admin", "survivor"],
            "embedded": False,
        }
    finally:
        stopped = emulator_cli("stop", "--lab-dir", str(lab_dir))
    assert stopped.stdout.startswith("stopped")
    status = emulator_cli("status", "--lab-dir", str(lab_dir))
    assert (status.returncode, status.stdout.strip()) == (1, "not running")
    assert not (lab_dir / INFO_FILE).exists()


@pytest.mark.slow
def test_embedded_emulator_exits_after_its_kernel_is_killed(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != LAB_DIR_VARIABLE}
    kernel = subprocess.Popen(
        [sys.executable, "-c", KERNEL_EMBEDS],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    seen = json.loads(kernel.stdout.readline())
    lab_dir = Path(seen["lab_dir"])
    assert seen["env_lab_dir"] == str(lab_dir)
    assert emulator.is_healthy(seen["endpoint"])
    assert (lab_dir / INFO_FILE).exists()

    _kill(kernel)

    assert _wait_until(lambda: not emulator.is_healthy(seen["endpoint"]))
    assert _wait_until(lambda: not lab_dir.exists())
    assert _wait_until(lambda: not emulator._process_alive(seen["server"]))


def test_connect_lab_starts_an_embedded_emulator_when_the_named_one_is_gone(
    tmp_path, monkeypatch
):
    monkeypatch.setenv(LAB_DIR_VARIABLE, str(tmp_path / "nothing-runs-here"))
    lab = emulator.connect_lab(activate=False)
    try:
        assert lab.process is not None
        assert lab.lab_dir != tmp_path / "nothing-runs-here"
        assert emulator.is_healthy(lab.endpoint)
    finally:
        lab.close()
    assert not lab.lab_dir.exists()


def test_stop_never_signals_a_process_that_is_not_the_emulator(tmp_path):
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        record = {"endpoint": "http://127.0.0.1:9", "pid": bystander.pid, "port": 9}
        (tmp_path / INFO_FILE).write_text(json.dumps(record))
        assert emulator.stop(tmp_path) is None
        assert bystander.poll() is None
        assert not (tmp_path / INFO_FILE).exists()
    finally:
        bystander.kill()
        bystander.wait()


# Isolation


USER_CONFIG = "[default]\nregion = eu-west-1\n\n[profile someone]\nregion = eu-west-2\n"
USER_CREDENTIALS = (
    "[default]\naws_access_key_id = AKIAUSERSDEFAULT0001\n"
    "aws_secret_access_key = UsersOwnDefaultSecretThatMustStayUnused00\n\n"
    "[someone]\naws_access_key_id = AKIAUSERSSOMEONE0001\n"
    "aws_secret_access_key = UsersOwnSomeoneSecretThatMustStayUnused00\n"
)

KERNEL_USES_THE_LAB = """
import json, os, subprocess, sys
from grader.emulator import connect_lab
lab = connect_lab()
aws = os.path.join(os.path.dirname(sys.executable), "aws")
def run(*args):
    done = subprocess.run([aws, *args, "--region", "us-east-1", "--output", "json"],
                          capture_output=True, text=True)
    return done.returncode, done.stdout, done.stderr
identity = run("sts", "get-caller-identity")
configured = run("configure", "set", "aws_access_key_id", "AKIAEXAMPLEBOT000001",
                 "--profile", "deploy-bot")
buckets = run("s3", "ls")
sts = lab.session().client("sts")
boto_arn = sts.get_caller_identity()["Arn"]
sts.close()
print(json.dumps({
    "identity": identity, "configured": configured, "buckets": buckets,
    "boto_arn": boto_arn,
    "bot_in_lab_credentials": "deploy-bot" in lab.credentials_file.read_text(),
    "aws_env": sorted(k for k in os.environ if k.startswith("AWS_")),
}))
"""


def _snapshot(root):
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.mark.slow
def test_lab_never_reads_or_writes_the_users_aws_files(tmp_path):
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "config").write_text(USER_CONFIG)
    (home / ".aws" / "credentials").write_text(USER_CREDENTIALS)
    before = _snapshot(home)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.pop(LAB_DIR_VARIABLE, None)
    env.update(
        HOME=str(home),
        AWS_PROFILE="someone",
        AWS_DEFAULT_PROFILE="someone",
        AWS_ACCESS_KEY_ID="AKIAUSERSENVIRON0001",
        AWS_SECRET_ACCESS_KEY="UsersOwnEnvironSecretThatMustStayUnused0",
        AWS_SESSION_TOKEN="users-own-session-token",
        AWS_CA_BUNDLE=str(tmp_path / "no-such-bundle.pem"),
        AWS_ENDPOINT_URL="http://127.0.0.1:9",
    )

    done = run_python(KERNEL_USES_THE_LAB, env, cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["identity"][0] == 0, seen["identity"][2]
    assert json.loads(seen["identity"][1])["Arn"] == ADMIN_ARN
    assert seen["boto_arn"] == ADMIN_ARN
    assert seen["configured"][0] == 0
    assert seen["bot_in_lab_credentials"]
    assert BUCKET in seen["buckets"][1]
    assert seen["aws_env"] == [
        "AWS_CONFIG_FILE",
        "AWS_DEFAULT_REGION",
        "AWS_EC2_METADATA_DISABLED",
        "AWS_ENDPOINT_URL",
        "AWS_SHARED_CREDENTIALS_FILE",
    ]
    assert _snapshot(home) == before


def test_environ_replaces_the_users_aws_variables(lab):
    user = {
        "PATH": "/usr/bin",
        "AWS_PROFILE": "someone",
        "AWS_ACCESS_KEY_ID": "AKIAUSERSENVIRON0001",
        "AWS_SESSION_TOKEN": "token",
        "AWS_DEFAULT_PROFILE": "someone",
        "AWS_CA_BUNDLE": "/etc/ssl/bundle.pem",
        "AWS_ENDPOINT_URL": "https://sts.amazonaws.com",
    }
    env = lab.environ(user)
    assert env["PATH"] == "/usr/bin"
    assert {k: v for k, v in env.items() if k.startswith("AWS_")} == {
        "AWS_ENDPOINT_URL": lab.endpoint,
        "AWS_CONFIG_FILE": str(lab.config_file),
        "AWS_SHARED_CREDENTIALS_FILE": str(lab.credentials_file),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    assert env[LAB_DIR_VARIABLE] == str(lab.lab_dir)
    assert "127.0.0.1" in env["NO_PROXY"].split(",")
    assert lab.config_file.parent.parent == lab.lab_dir


def test_activate_applies_the_environment_and_keeps_other_profiles(lab, monkeypatch):
    set_profile(lab, BOT, "AKIAEXAMPLEBOT000001", FAKE_SECRET)
    monkeypatch.setenv("AWS_PROFILE", "someone")
    lab.activate()
    assert "AWS_PROFILE" not in os.environ
    assert os.environ["AWS_ENDPOINT_URL"] == lab.endpoint

    credentials = configparser.RawConfigParser()
    credentials.read(lab.credentials_file)
    assert credentials["default"]["aws_access_key_id"] == ADMIN_ACCESS_KEY_ID
    assert credentials[BOT]["aws_access_key_id"] == "AKIAEXAMPLEBOT000001"
    config = configparser.RawConfigParser()
    config.read(lab.config_file)
    assert dict(config["default"]) == {"region": "us-east-1", "output": "json"}


def test_credentials_file_is_never_readable_by_others(lab, monkeypatch):
    modes = []
    replace = os.replace

    def watched_replace(source, target):
        modes.append((Path(target).name, stat.S_IMODE(os.stat(source).st_mode)))
        replace(source, target)

    monkeypatch.setattr(os, "replace", watched_replace)
    lab.write_default_profile()
    assert ("credentials", 0o600) in modes
    assert all(mode & 0o077 == 0 for _, mode in modes)
    assert stat.S_IMODE(lab.credentials_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(lab.config_file.parent.stat().st_mode) == 0o700


def test_session_uses_the_emulator_even_without_activation(lab, monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUSERSENVIRON0001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET)
    sts = lab.session().client("sts")
    try:
        assert sts.meta.endpoint_url == lab.endpoint
        assert sts.get_caller_identity()["Arn"] == ADMIN_ARN
    finally:
        sts.close()


# Loopback only


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("10.0.0.5", False),
        ("169.254.169.254", False),
        ("sts.amazonaws.com", False),
    ],
)
def test_is_loopback(host, loopback):
    assert emulator.is_loopback(host) is loopback


def test_lab_refuses_an_endpoint_that_is_not_loopback(tmp_path):
    with pytest.raises(EmulatorNotLoopback) as refused:
        Lab(tmp_path, "http://10.0.0.5:5000")
    message = str(refused.value)
    assert "10.0.0.5" in message
    assert "local emulator" in message
    assert "real AWS" in message


def test_serve_refuses_to_bind_anything_but_loopback(tmp_path):
    with pytest.raises(EmulatorNotLoopback):
        emulator.serve(tmp_path, host="0.0.0.0")
    assert not (tmp_path / INFO_FILE).exists()


def test_emulator_json_pointing_elsewhere_is_refused(tmp_path, monkeypatch):
    record = {"endpoint": "http://192.0.2.10:5000", "pid": os.getpid(), "port": 5000}
    (tmp_path / INFO_FILE).write_text(json.dumps(record))

    monkeypatch.setenv(LAB_DIR_VARIABLE, str(tmp_path))
    with pytest.raises(EmulatorNotLoopback):
        emulator.connect_lab(activate=False)
    done = emulator_cli("status", "--lab-dir", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.startswith("Error: Refusing to use the emulator at")


@pytest.mark.slow
def test_exec_runs_a_program_inside_the_lab_and_nothing_reads_home(tmp_path):
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text(
        "[bogus]\naws_access_key_id = AKIABOGUS\naws_secret_access_key = x\n"
    )
    before = (home / ".aws" / "credentials").read_bytes()
    env = dict(os.environ, HOME=str(home), AWS_PROFILE="bogus", AWS_REGION="eu-west-3")
    lab_dir = tmp_path / "lab"
    aws = str(Path(sys.executable).with_name("aws"))
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "grader.emulator",
                "exec",
                "--lab-dir",
                str(lab_dir),
                "--",
                aws,
                "sts",
                "get-caller-identity",
                "--output",
                "json",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["Arn"].endswith(":user/admin")
    finally:
        emulator.stop(lab_dir)
    assert (home / ".aws" / "credentials").read_bytes() == before
    assert sorted(p.name for p in (home / ".aws").iterdir()) == ["credentials"]
