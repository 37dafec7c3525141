"""The lab's key store keeps secrets at mode 0600 and masks them everywhere."""

import json
import stat

from grader import keys

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_mask_keeps_only_the_last_four_characters():
    assert keys.mask(SECRET) == "*" * 36 + "EKEY"
    assert keys.mask("abc") == "***"


def test_mask_text_masks_secret_fields_and_known_secrets():
    output = json.dumps(
        {"AccessKey": {"SecretAccessKey": SECRET, "AccessKeyId": "AKIA1"}}
    )
    masked = keys.mask_text(output + "\nplain " + SECRET, secrets=[SECRET])
    assert SECRET not in masked
    assert masked.count("EKEY") == 2
    assert "AKIA1" in masked


def test_access_key_repr_never_shows_the_secret():
    key = keys.AccessKey("deploy-bot", "AKIAEXAMPLE", SECRET)
    assert SECRET not in repr(key) and SECRET not in str(key)
    assert key.secret == SECRET


def test_store_is_created_with_mode_0600_and_round_trips(tmp_path):
    first = keys.AccessKey("deploy-bot", "AKIA1", SECRET)
    second = keys.AccessKey("deploy-bot", "AKIA2", SECRET[::-1])
    keys.save_access_key(tmp_path, first)
    keys.save_access_key(tmp_path, second)
    mode = stat.S_IMODE(keys.store_path(tmp_path).stat().st_mode)
    assert mode == 0o600
    assert keys.load_access_keys(tmp_path) == [first, second]
    assert keys.latest_access_key(tmp_path, "deploy-bot") == second
    assert keys.latest_access_key(tmp_path, "someone-else") is None


def test_keys_from_cli_output_reads_create_access_key_json():
    output = json.dumps(
        {
            "AccessKey": {
                "UserName": "deploy-bot",
                "AccessKeyId": "AKIA1",
                "SecretAccessKey": SECRET,
                "Status": "Active",
            }
        }
    )
    assert keys.keys_from_cli_output(output) == keys.AccessKey(
        "deploy-bot", "AKIA1", SECRET
    )
    assert keys.keys_from_cli_output("not json") is None
    assert keys.keys_from_cli_output('{"User": {}}') is None
