"""What the lab's account holds, and the checkpoints judged from it.

Checkpoints 1, 2, 3, 7 and 8 are about the account, not the policy text:
the user, its keys, the managed policy, the attachment and the bot's
identity.  :func:`read_lab_state` asks the emulator, as the lab's
administrator, from the grader's own process; :func:`judge_lab_checkpoint`
decides a checkpoint from that snapshot alone.
"""

import logging
import os
import stat
from dataclasses import dataclass, field

import botocore.exceptions

from grader import keys

log = logging.getLogger(__name__)
BOT_PROFILE = "deploy-bot"


@dataclass(frozen=True)
class LabState:
    """A snapshot of the account, as far as the lab checkpoints need it."""

    user_name: str
    user_exists: bool = False
    login_profile: bool = False
    active_key_ids: tuple = ()
    stored_key_ids: tuple = ()
    store_mode: int | None = None
    policy_arn: str | None = None
    policy_is_local: bool = False
    attached_policy_arns: tuple = ()
    identity_arn: str | None = None
    identity_error: str | None = None
    expected_user_arn: str = ""
    notes: dict = field(default_factory=dict)


@dataclass(frozen=True)
class LabVerdict:
    """One lab checkpoint's outcome: passed, and the diagnosis code if not."""

    checkpoint: str
    passed: bool
    code: str | None = None
    detail: dict = field(default_factory=dict)


def _error_code(error):
    return error.response.get("Error", {}).get("Code", "") or type(error).__name__


def read_lab_state(lab, task):
    """Query the emulator as the lab administrator and return a LabState."""
    user, account = task.user_name, task.account
    admin = lab.session()
    iam = admin.client("iam")
    state = {
        "user_name": user,
        "expected_user_arn": f"arn:aws:iam::{account}:user/{user}",
    }
    try:
        iam.get_user(UserName=user)
        state["user_exists"] = True
    except botocore.exceptions.ClientError:
        return LabState(**state, **_identity(lab, task))

    state["login_profile"] = _has_login_profile(iam, user)
    listed = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    state["active_key_ids"] = tuple(
        k["AccessKeyId"] for k in listed if k["Status"] == "Active"
    )
    state["stored_key_ids"] = tuple(
        k.id for k in keys.load_access_keys(lab.lab_dir) if k.user == user
    )
    store = keys.store_path(lab.lab_dir)
    state["store_mode"] = (
        stat.S_IMODE(os.stat(store).st_mode) if store.exists() else None
    )
    state.update(_policy_facts(iam, task))
    return LabState(**state, **_identity(lab, task))


def _has_login_profile(iam, user):
    try:
        iam.get_login_profile(UserName=user)
        return True
    except botocore.exceptions.ClientError:
        return False


def _policy_facts(iam, task):
    arn = f"arn:aws:iam::{task.account}:policy/{task.policy_name}"
    facts = {}
    try:
        iam.get_policy(PolicyArn=arn)
        facts["policy_arn"] = arn
        local = iam.list_policies(Scope="Local")["Policies"]
        facts["policy_is_local"] = any(p["Arn"] == arn for p in local)
    except botocore.exceptions.ClientError:
        pass
    attached = iam.list_attached_user_policies(UserName=task.user_name)
    facts["attached_policy_arns"] = tuple(
        p["PolicyArn"] for p in attached["AttachedPolicies"]
    )
    return facts


def _identity(lab, task):
    """The bot profile's get-caller-identity answer, or the error code."""
    try:
        session = lab.session(profile=BOT_PROFILE)
        answer = session.client("sts").get_caller_identity()
        return {"identity_arn": answer["Arn"]}
    except botocore.exceptions.ProfileNotFound:
        return {"identity_error": "ProfileNotFound"}
    except botocore.exceptions.NoCredentialsError:
        return {"identity_error": "NoCredentials"}
    except botocore.exceptions.ClientError as error:
        return {"identity_error": _error_code(error)}


def judge_lab_checkpoint(checkpoint_id, state):
    """Decide one lab checkpoint from ``state``; raises KeyError if unknown."""
    return _JUDGES[checkpoint_id](state)


def _user_no_console(s):
    if not s.user_exists:
        return LabVerdict("user_no_console", False, "user_missing")
    if s.login_profile:
        return LabVerdict("user_no_console", False, "console_access_enabled")
    return LabVerdict("user_no_console", True)


def _access_keys_stored(s):
    if not s.user_exists:
        return LabVerdict("access_keys_stored", False, "user_missing")
    if not s.active_key_ids:
        return LabVerdict("access_keys_stored", False, "access_key_missing")
    stored = set(s.stored_key_ids) & set(s.active_key_ids)
    if not stored or s.store_mode is None or s.store_mode & 0o077:
        return LabVerdict("access_keys_stored", False, "access_key_not_stored")
    return LabVerdict("access_keys_stored", True)


def _policy_created(s):
    if not (s.policy_arn and s.policy_is_local):
        return LabVerdict("policy_created", False, "policy_not_created")
    return LabVerdict("policy_created", True)


def _policy_attached(s):
    if not s.user_exists:
        return LabVerdict("policy_attached", False, "user_missing")
    if not s.policy_arn:
        return LabVerdict("policy_attached", False, "policy_not_created")
    if s.policy_arn not in s.attached_policy_arns:
        return LabVerdict("policy_attached", False, "policy_not_attached")
    return LabVerdict("policy_attached", True)


_IDENTITY_CODES = {
    "InvalidClientTokenId": "invalid_client_token_id",
    "SignatureDoesNotMatch": "signature_does_not_match",
    "ProfileNotFound": "profile_missing",
    "NoCredentials": "profile_missing",
}


def _identity_verified(s):
    if s.identity_error:
        code = _IDENTITY_CODES.get(s.identity_error, "invalid_client_token_id")
        return LabVerdict("identity_verified", False, code, {"error": s.identity_error})
    if s.identity_arn != s.expected_user_arn:
        return LabVerdict(
            "identity_verified", False, "wrong_identity", {"arn": s.identity_arn}
        )
    return LabVerdict("identity_verified", True)


_JUDGES = {
    "user_no_console": _user_no_console,
    "access_keys_stored": _access_keys_stored,
    "policy_created": _policy_created,
    "policy_attached": _policy_attached,
    "identity_verified": _identity_verified,
}
