"""Lab checkpoints judged from a snapshot of the account."""

import pytest

from grader.labstate import LabState, judge_lab_checkpoint

BOT = "arn:aws:iam::123456789012:user/deploy-bot"
POLICY = "arn:aws:iam::123456789012:policy/DeployBotPolicy"


def _state(**changes):
    done = dict(
        user_name="deploy-bot",
        user_exists=True,
        active_key_ids=("AKIA1",),
        stored_key_ids=("AKIA1",),
        store_mode=0o600,
        policy_arn=POLICY,
        policy_is_local=True,
        attached_policy_arns=(POLICY,),
        identity_arn=BOT,
        expected_user_arn=BOT,
    )
    done.update(changes)
    return LabState(**done)


@pytest.mark.parametrize(
    "checkpoint",
    [
        "user_no_console",
        "access_keys_stored",
        "policy_created",
        "policy_attached",
        "identity_verified",
    ],
)
def test_finished_lab_passes_every_lab_checkpoint(checkpoint):
    assert judge_lab_checkpoint(checkpoint, _state()).passed


@pytest.mark.parametrize(
    ("checkpoint", "changes", "code"),
    [
        ("user_no_console", {"user_exists": False}, "user_missing"),
        ("user_no_console", {"login_profile": True}, "console_access_enabled"),
        ("access_keys_stored", {"active_key_ids": ()}, "access_key_missing"),
        ("access_keys_stored", {"stored_key_ids": ()}, "access_key_not_stored"),
        ("access_keys_stored", {"store_mode": 0o644}, "access_key_not_stored"),
        (
            "access_keys_stored",
            {"stored_key_ids": ("AKIAOLD",)},
            "access_key_not_stored",
        ),
        ("policy_created", {"policy_arn": None}, "policy_not_created"),
        ("policy_attached", {"attached_policy_arns": ()}, "policy_not_attached"),
        ("policy_attached", {"policy_arn": None}, "policy_not_created"),
        (
            "identity_verified",
            {"identity_arn": None, "identity_error": "InvalidClientTokenId"},
            "invalid_client_token_id",
        ),
        (
            "identity_verified",
            {"identity_arn": None, "identity_error": "SignatureDoesNotMatch"},
            "signature_does_not_match",
        ),
        (
            "identity_verified",
            {"identity_arn": None, "identity_error": "ProfileNotFound"},
            "profile_missing",
        ),
        (
            "identity_verified",
            {"identity_arn": "arn:aws:iam::123456789012:user/admin"},
            "wrong_identity",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_each_mistake_gets_its_diagnosis(checkpoint, changes, code):
    verdict = judge_lab_checkpoint(checkpoint, _state(**changes))
    assert not verdict.passed
    assert verdict.code == code


def test_unknown_checkpoint_is_an_error():
    with pytest.raises(KeyError):
        judge_lab_checkpoint("exact_actions", _state())
