"""The real aws command line run inside the lab, with every secret masked."""

import pytest

from grader import awscli, keys
from grader.emulator import ADMIN_SECRET_ACCESS_KEY


def _run(lab, line):
    return awscli.run_aws(line, env=lab.environ(), lab_dir=lab.lab_dir)


@pytest.mark.slow
def test_created_key_is_stored_and_its_secret_never_printed(lab):
    assert (
        _run(lab, "iam create-user --user-name deploy-bot --output json").returncode
        == 0
    )
    result = _run(lab, "iam create-access-key --user-name deploy-bot --output json")
    stored = keys.latest_access_key(lab.lab_dir, "deploy-bot")
    assert stored is not None and len(stored.secret) == 40
    assert stored.secret not in result.stdout
    assert keys.mask(stored.secret) in result.stdout


@pytest.mark.slow
def test_secrets_of_the_lab_profiles_are_masked_too(lab):
    result = _run(lab, "configure get aws_secret_access_key")
    assert result.returncode == 0
    assert ADMIN_SECRET_ACCESS_KEY not in result.stdout
    assert result.stdout.strip() == keys.mask(ADMIN_SECRET_ACCESS_KEY)


@pytest.mark.slow
def test_a_failed_command_keeps_the_aws_error_and_its_code(lab):
    result = _run(lab, "iam get-login-profile --user-name nobody --output json")
    assert result.returncode != 0
    error = awscli.AwsCliError(result.command, result.returncode, result.stderr)
    assert error.code == "NoSuchEntity"


def test_unbalanced_quotes_are_a_command_error_not_a_crash(lab):
    with pytest.raises(awscli.AwsCliError, match="No closing quotation"):
        _run(lab, "s3 ls 's3://unterminated")


def test_progress_frames_of_aws_s3_are_dropped():
    frames = (
        "Completed 1 Bytes/2 Bytes with 2 file(s) remaining\r"
        "upload: build/a to s3://b/a\n"
        "Completed 2 Bytes/2 Bytes with 1 file(s) remaining\r\n"
    )
    assert awscli._without_progress(frames) == "upload: build/a to s3://b/a\n"
