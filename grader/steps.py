"""Rebuilding the state earlier notebooks leave behind, for one that runs alone.

nbval and nbgrader run each notebook in a fresh kernel, often against a
fresh embedded emulator.  A later notebook therefore brings the account to
where the tutorial's earlier steps would have left it, idempotently: what
already exists is kept, and the policy comes from the student's own saved
``deploy-bot-policy.json``, never from a reference answer.
"""

import configparser
import contextlib
import json
import logging
import os
from pathlib import Path

import botocore.exceptions

from grader import keys

log = logging.getLogger(__name__)
STEPS = ("user", "access_key", "policy", "attachment", "profile")


class MissingPolicyFile(Exception):
    """A later notebook needs the policy file the policy notebook writes."""


class StepFailed(Exception):
    """An earlier tutorial step could not be rebuilt; the message says why."""


_DEPENDS_ON = {"attachment": "policy"}


def prepare(lab, task, needs, workdir="."):
    """Make sure each step named in ``needs`` has happened, in tutorial order.

    Returns one sentence for each change made, for the notebook to show.

    A step that cannot be rebuilt (a missing or rejected policy file) does
    not stop the steps that do not depend on it; the first failure is
    raised once the others are done.
    """
    unknown = set(needs) - set(STEPS)
    if unknown:
        raise ValueError(f"unknown steps {sorted(unknown)}; known: {STEPS}")
    iam = lab.session().client("iam")
    failed, changes = {}, []
    for step in (s for s in STEPS if s in needs):
        if _DEPENDS_ON.get(step) in failed:
            continue
        try:
            change = _ACTIONS[step](lab, task, iam, Path(workdir))
        except (MissingPolicyFile, StepFailed) as error:
            failed[step] = error
        else:
            changes += [change] if change else []
    if failed:
        raise next(iter(failed.values()))
    return changes


def _ensure_user(lab, task, iam, workdir):
    try:
        iam.get_user(UserName=task.user_name)
    except botocore.exceptions.ClientError:
        iam.create_user(UserName=task.user_name)
        log.info("created user %s", task.user_name)


def _ensure_access_key(lab, task, iam, workdir):
    active = {
        k["AccessKeyId"]
        for k in iam.list_access_keys(UserName=task.user_name)["AccessKeyMetadata"]
        if k["Status"] == "Active"
    }
    stored = keys.latest_access_key(lab.lab_dir, task.user_name)
    if stored is not None and stored.id in active:
        return
    created = iam.create_access_key(UserName=task.user_name)["AccessKey"]
    keys.save_access_key(
        lab.lab_dir,
        keys.AccessKey(
            task.user_name, created["AccessKeyId"], created["SecretAccessKey"]
        ),
    )
    log.info("created an access key for %s", task.user_name)


def _ensure_policy(lab, task, iam, workdir):
    path = workdir / task.policy_file
    if not path.exists():
        raise MissingPolicyFile(
            f"{path} is missing: run the policy notebook first, it writes this file"
        )
    arn = f"arn:aws:iam::{task.account}:policy/{task.policy_name}"
    try:
        policy = iam.get_policy(PolicyArn=arn)["Policy"]
    except botocore.exceptions.ClientError:
        _create_policy(iam, task, path)
        return f"created {task.policy_name} from {path}"
    return _sync_policy(iam, arn, policy["DefaultVersionId"], path)


def _sync_policy(iam, arn, default_version, path):
    """Make IAM's copy match the file when the student changed the file since."""
    try:
        wanted = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    held = iam.get_policy_version(PolicyArn=arn, VersionId=default_version)
    if held["PolicyVersion"]["Document"] == wanted:
        return None
    _make_room_for_a_version(iam, arn)
    _create_version(iam, arn, path)
    return f"updated {arn.rsplit('/', 1)[1]} in IAM to match your {path.name}"


def _make_room_for_a_version(iam, arn):
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    spare = sorted(
        (v for v in versions if not v["IsDefaultVersion"]),
        key=lambda v: v["CreateDate"],
    )
    if len(versions) >= 5:
        iam.delete_policy_version(PolicyArn=arn, VersionId=spare[0]["VersionId"])


def _create_policy(iam, task, path):
    try:
        document = path.read_text(encoding="utf-8")
        iam.create_policy(PolicyName=task.policy_name, PolicyDocument=document)
    except UnicodeDecodeError as error:
        raise StepFailed(f"{path} is not UTF-8 text ({error.reason})") from None
    except botocore.exceptions.ClientError as error:
        detail = error.response.get("Error", {})
        raise StepFailed(
            f"IAM refused {path}: ({detail.get('Code')}) {detail.get('Message')}\n"
            "Fix the policy in 02-write-policy, run its cell again, "
            "then rerun this notebook."
        ) from None
    log.info("created %s from %s", task.policy_name, path)


def _ensure_attachment(lab, task, iam, workdir):
    arn = f"arn:aws:iam::{task.account}:policy/{task.policy_name}"
    attached = iam.list_attached_user_policies(UserName=task.user_name)
    if arn not in [p["PolicyArn"] for p in attached["AttachedPolicies"]]:
        iam.attach_user_policy(UserName=task.user_name, PolicyArn=arn)


def _ensure_profile(lab, task, iam, workdir):
    key = keys.latest_access_key(lab.lab_dir, task.user_name)
    write_profile(lab, "deploy-bot", key.id, key.secret)


def write_profile(lab, profile, key_id, secret):
    """Write a named profile into the lab's config and credentials files."""
    credentials = configparser.ConfigParser()
    credentials.read(lab.credentials_file)
    credentials[profile] = {
        "aws_access_key_id": key_id,
        "aws_secret_access_key": secret,
    }
    fd = os.open(lab.credentials_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        credentials.write(handle)

    config = configparser.ConfigParser()
    config.read(lab.config_file)
    config[f"profile {profile}"] = {"region": "us-east-1", "output": "json"}
    with open(lab.config_file, "w") as handle:
        config.write(handle)


_ACTIONS = {
    "user": _ensure_user,
    "access_key": _ensure_access_key,
    "policy": _ensure_policy,
    "attachment": _ensure_attachment,
    "profile": _ensure_profile,
}


@contextlib.contextmanager
def policy_swapped(lab, policy_file, policy_name="DeployBotPolicy"):
    """Make ``policy_file`` the policy's default version for the ``with`` block.

    The previous default version is restored afterwards, even when the
    block raises, and the temporary version is deleted, so the swap can be
    repeated without reaching IAM's limit of five versions.
    """
    iam = lab.session().client("iam")
    arn = _policy_arn(iam, policy_name)
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    previous = next(v["VersionId"] for v in versions if v["IsDefaultVersion"])
    _make_room_for_a_version(iam, arn)
    created = _create_version(iam, arn, Path(policy_file))
    try:
        yield created
    finally:
        iam.set_default_policy_version(PolicyArn=arn, VersionId=previous)
        iam.delete_policy_version(PolicyArn=arn, VersionId=created)


def _create_version(iam, arn, path):
    try:
        document = path.read_text(encoding="utf-8")
        answer = iam.create_policy_version(
            PolicyArn=arn, PolicyDocument=document, SetAsDefault=True
        )
    except (OSError, UnicodeDecodeError) as error:
        raise StepFailed(f"cannot read {path}: {error}") from None
    except botocore.exceptions.ClientError as error:
        detail = error.response.get("Error", {})
        raise StepFailed(
            f"IAM refused {path}: ({detail.get('Code')}) {detail.get('Message')}"
        ) from None
    return answer["PolicyVersion"]["VersionId"]


def _policy_arn(iam, policy_name):
    for page in iam.get_paginator("list_policies").paginate(Scope="Local"):
        for policy in page["Policies"]:
            if policy["PolicyName"] == policy_name:
                return policy["Arn"]
    raise StepFailed(
        f"there is no customer-managed policy named {policy_name} in this lab yet: "
        "create it in 03-attach-policy first"
    )
