"""Diagnoses: the one registry of diagnosis codes, and finding them in a policy.

Every code the grader or the lab checks can report is registered in
``DIAGNOSES`` with its severity, symptom, cause and next step. A produced
``Diagnosis`` says what is wrong, where (statement, action, ARN), what the
deploy would see in AWS's own words, and what to change.

Example:
    >>> DIAGNOSES["listbucket_on_object_arn"].severity
    'error'
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from grader.catalog import ResourceType, load_catalog, wildcard_regex
from grader.checkpoints import PolicyEvaluation
from grader.evaluator import (
    Request,
    Rule,
    covers,
    decide,
    resource_glob,
    rule_example,
    rules_for,
)
from grader.policy import PolicyProblem
from grader.task import CheckpointSpec, RequiredRequest, ScopeDiagnoses, Task

logger = logging.getLogger(__name__)

ERROR, ADVICE = "error", "advice"
POLICY, LAB = "policy", "lab"


@dataclass(frozen=True)
class DiagnosisCode:
    """A registered diagnosis: what it means and how its message reads."""

    code: str
    severity: str
    scope: str
    symptom: str
    cause: str
    next_step: str
    template: str
    checkpoints: tuple[str, ...] = ()


@dataclass(frozen=True)
class Diagnosis:
    """One finding, ready for the report."""

    code: str
    severity: str
    statement: str | int | None
    message: str
    action: str | None = None
    resource: str | None = None
    checkpoints: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The diagnosis as the report's ``diagnoses`` entry."""
        entry: dict[str, Any] = {
            "code": self.code,
            "severity": self.severity,
            "statement": self.statement,
            "message": self.message,
            "checkpoints": list(self.checkpoints),
        }
        if self.action is not None:
            entry["action"] = self.action
        if self.resource is not None:
            entry["resource"] = self.resource
        return entry


def _code(
    code: str,
    severity: str,
    symptom: str,
    cause: str,
    next_step: str,
    template: str,
    scope: str = POLICY,
) -> DiagnosisCode:
    return DiagnosisCode(code, severity, scope, symptom, cause, next_step, template)


_REFUSED = "create-policy refuses the document"
_DENIED = "the deploy fails with AccessDenied"

_CODES = (
    _code(
        "ok",
        ADVICE,
        "nothing is wrong",
        "the policy allows exactly the deploy's requests",
        "nothing to change",
        "The policy allows exactly what the deploy needs and nothing else: {summary}.",
    ),
    _code(
        "malformed_json",
        ERROR,
        _REFUSED + " with 'Syntax errors in policy.'",
        "the text is not JSON",
        "fix the JSON at the line and column given",
        "The policy is not valid JSON: line {line}, column {column}: {problem}. "
        "`aws iam create-policy` would fail with: {iam_error} "
        "Fix the text at that spot; no checkpoint can be graded until it parses.",
    ),
    _code(
        "missing_version",
        ERROR,
        "the lab's create-policy refuses the document; AWS reads it as 2008-10-17",
        "the document has no Version element",
        'add "Version": "2012-10-17"',
        'The document has no "Version", so IAM reads it in the old 2008-10-17 '
        "policy language, where policy variables such as ${{aws:username}} are "
        "plain text. The lab's create-policy refuses it: {iam_error} "
        'Add "Version": "2012-10-17" as the first element of the document.',
    ),
    _code(
        "version_2008",
        ERROR,
        "the lab's create-policy refuses the document",
        "Version is the old 2008-10-17",
        'use "Version": "2012-10-17"',
        '"Version" is "2008-10-17", the old policy language, where policy '
        "variables such as ${{aws:username}} are plain text. The lab's "
        "create-policy refuses it: {iam_error} "
        'Change it to "Version": "2012-10-17".',
    ),
    _code(
        "invalid_version",
        ERROR,
        _REFUSED,
        "Version is a value IAM does not know",
        'use "Version": "2012-10-17"',
        '"Version" is {value}, which is not a policy language version (it is a '
        "fixed date, not today's). create-policy fails with: {iam_error} "
        'Write "Version": "2012-10-17".',
    ),
    _code(
        "missing_effect",
        ERROR,
        _REFUSED,
        "a statement has no Effect",
        'add "Effect": "Allow" or "Deny"',
        '{where} has no "Effect". create-policy fails with: {iam_error} '
        'Add "Effect": "Allow" to it (or "Deny" for a guardrail).',
    ),
    _code(
        "invalid_effect",
        ERROR,
        _REFUSED,
        "Effect is not exactly Allow or Deny",
        'write "Allow" or "Deny", capitalised',
        '{where} has "Effect": {value}. IAM accepts exactly "Allow" or "Deny", '
        "and case counts. create-policy fails with: {iam_error} {fix}",
    ),
    _code(
        "missing_action_element",
        ERROR,
        _REFUSED,
        "a statement has neither Action nor NotAction",
        "add an Action list",
        "{where} names no actions ({problem}). create-policy fails with: "
        '{iam_error} Add "Action" with the actions this statement is for, '
        'e.g. "Action": ["s3:PutObject"].',
    ),
    _code(
        "missing_resource",
        ERROR,
        _REFUSED,
        "a statement has neither Resource nor NotResource",
        "add a Resource",
        "{where} names no resources ({problem}). create-policy fails with: "
        '{iam_error} Add "Resource" with the ARN its actions act on.',
    ),
    _code(
        "principal_in_identity_policy",
        ERROR,
        _REFUSED,
        "Principal belongs in resource policies, not in a user's policy",
        "delete the Principal element",
        '{where} has a "{value}" element. Principal belongs in resource '
        "policies (bucket policies, trust policies); in a policy attached to a "
        "user, that user is the principal. create-policy fails with: {iam_error} "
        'Delete "{value}" from the statement.',
    ),
    _code(
        "invalid_sid",
        ERROR,
        _REFUSED,
        "a Sid has characters other than A-Z, a-z, 0-9",
        "use letters and digits only",
        "{where}: {problem}; a Sid may hold only A-Z, a-z and 0-9 (no spaces, "
        "dashes or underscores). create-policy fails with: {iam_error} {fix}",
    ),
    _code(
        "duplicate_sid",
        ERROR,
        _REFUSED,
        "two statements share one Sid",
        "give each statement its own Sid",
        '{where} reuses the Sid "{value}" of an earlier statement. create-policy '
        "fails with: {iam_error} Give each statement its own Sid, named after "
        "what it allows.",
    ),
    _code(
        "invalid_character",
        ERROR,
        _REFUSED,
        "an invisible or non-ASCII character inside an action or ARN",
        "retype the name by hand",
        "{where}: {problem}. Such characters usually come from copying out of a "
        "web page or a word processor; IAM refuses them, and they would match "
        "nothing anyway. {fix}",
    ),
    _code(
        "resource_not_arn",
        ERROR,
        _REFUSED,
        'a Resource is neither an ARN nor "*"',
        "write the full ARN",
        '{where} has the Resource {value}, which is neither an ARN nor "*". '
        "create-policy fails with: {iam_error} Write the full ARN, "
        "arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE, e.g. {example}.",
    ),
    _code(
        "leading_whitespace",
        ERROR,
        _REFUSED,
        "white space before the opening {",
        "delete everything before the {",
        "The text has white space before its opening '{{'. create-policy fails "
        "with: {iam_error} Delete everything before the '{{' (a blank first line "
        "is enough to cause this).",
    ),
    _code(
        "policy_too_large",
        ERROR,
        _REFUSED + " with LimitExceeded",
        "over 6,144 characters, white space not counted",
        "merge statements or use wildcards that stay exact",
        "The policy is {problem}. create-policy fails with: {iam_error} "
        "Merge statements that share resources and drop repeated actions.",
    ),
    _code(
        "misspelled_action",
        ERROR,
        "IAM accepts the policy but the action allows nothing",
        "an action no AWS service has",
        "fix the spelling",
        "{where} names {value}, which no AWS service has, so it allows nothing "
        "(IAM accepts unknown names without a word). {fix}",
    ),
    _code(
        "missing_action",
        ERROR,
        _DENIED,
        "a required action is not allowed anywhere",
        "allow the action on its resource",
        "No statement allows {action}, so the deploy's {operation} call fails: "
        "{aws_error} Add {action} to an Allow statement with the Resource "
        "{expected}.",
    ),
    _code(
        "extra_action",
        ERROR,
        "the deploy works, and a leaked key can do more than deploy",
        "an action beyond the required ones is allowed",
        "remove the action",
        "{where} allows {action}, which the deploy never calls{conditional}. "
        "A leaked key could use it, e.g. {action} on {request}. Remove {action} "
        "from the statement.",
    ),
    _code(
        "wildcard_action_too_broad",
        ERROR,
        "the deploy works, and a leaked key can do much more",
        "a wildcard in Action allows more than the required actions",
        "list the required actions by name",
        '{where} allows "{pattern}", and the wildcard matches far more than the '
        "deploy needs{conditional}: e.g. {action} on {request}. Replace it with "
        "the required actions by name: {required}.",
    ),
    _code(
        "notaction_too_broad",
        ERROR,
        "the deploy works, and a leaked key can do almost anything",
        "an Allow with NotAction allows every action not listed",
        "use Action with the exact actions",
        "{where} is an Allow with NotAction, so it allows every action it does "
        'not list{conditional}, e.g. {action} on {request}. Use "Action" with '
        "the required actions instead: {required}.",
    ),
    _code(
        "notresource_too_broad",
        ERROR,
        "the deploy works, and a leaked key reaches other resources",
        "an Allow with NotResource allows every resource not listed",
        "use Resource with the exact ARNs",
        "{where} is an Allow with NotResource, so it allows {action} on every "
        'resource it does not list, e.g. {request}. Use "Resource" with '
        "{expected} instead.",
    ),
    _code(
        "deny_blocks_required",
        ERROR,
        _DENIED,
        "a Deny takes away a request the deploy needs",
        "narrow the Deny",
        "{where} denies {action} on {request}{conditional}, a request the deploy "
        "needs; an explicit Deny beats every Allow. The deploy fails with: "
        "{aws_error} Narrow the Deny so it leaves {expected} alone.",
    ),
    _code(
        "condition_restricts",
        ERROR,
        _DENIED + " whenever the condition does not hold",
        "a required permission holds only under a Condition",
        "remove the Condition from the statement the deploy needs",
        "{where} allows {action} only under a Condition, so the permission is "
        "not guaranteed: whenever the condition does not hold, the deploy fails "
        "with: {aws_error} Remove the Condition from this statement (keep "
        "conditions for extra guardrails in Deny statements).",
    ),
    _code(
        "object_actions_on_bucket_arn",
        ERROR,
        "aws s3 sync fails on every upload and delete with AccessDenied",
        "object actions are given the bucket ARN, without /*",
        "add /* to the Resource of the object actions",
        "{where} allows {action} on {resource}, the bucket ARN, but object "
        "actions are checked against object ARNs like {request}. `aws s3 sync` "
        "fails on every file: {aws_error} Give the object actions the Resource "
        "{expected}.",
    ),
    _code(
        "listbucket_on_object_arn",
        ERROR,
        "aws s3 sync fails before uploading anything, on ListObjectsV2",
        "s3:ListBucket is given the /* object ARN instead of the bucket ARN",
        "give s3:ListBucket the bucket ARN, without /*",
        "{where} allows {action} on {resource}, an object ARN, but {action} is "
        "checked against the bucket ARN {expected}. `aws s3 sync` lists the "
        "bucket first and stops: fatal error: {aws_error} Give {action} the "
        "Resource {expected}, without /*.",
    ),
    _code(
        "s3_arns_swapped",
        ERROR,
        "aws s3 sync fails with AccessDenied on list and on upload",
        "the bucket ARN and the object ARN are swapped",
        "swap them back",
        "The bucket and object ARNs are swapped ({where}): the object actions "
        "have the bucket ARN and s3:ListBucket has the object ARN, so every "
        "call of `aws s3 sync` is denied: {aws_error} Swap them back: "
        "{expected}.",
    ),
    _code(
        "s3_arn_has_region",
        ERROR,
        "create-policy refuses it, or the ARN names nothing and S3 is denied",
        "an S3 ARN with a region or account segment",
        "write arn:aws:s3:::BUCKET or arn:aws:s3:::BUCKET/*",
        "{where} uses the S3 ARN {resource}, which has a region or account "
        "segment; bucket and object ARNs have neither "
        "(arn:aws:s3:::BUCKET/KEY). {consequence} Write {expected}.",
    ),
    _code(
        "s3_wrong_bucket",
        ERROR,
        _DENIED + " on the deploy bucket",
        "the ARN names another bucket (case counts)",
        "use the deploy bucket's exact name",
        "{where} names bucket {value} in {resource}, not the deploy bucket "
        "(bucket names are lower case and must match exactly). {consequence} "
        "Use {expected}.",
    ),
    _code(
        "s3_resource_too_broad",
        ERROR,
        "the deploy works, and a leaked key reaches every bucket",
        'S3 actions on "*" or on every bucket',
        "scope the S3 actions to the deploy bucket",
        "{where} allows {action} on {resource}, which covers every bucket. "
        "{consequence} Scope it to {expected}.",
    ),
    _code(
        "bucket_wildcard_too_broad",
        ERROR,
        "the deploy works, and a leaked key reaches similarly named buckets",
        "a wildcard in the bucket name also matches other buckets",
        "write the bucket name in full",
        "{where} allows {action} on {resource}: the wildcard in the bucket name "
        "also matches other buckets. {consequence} Write the bucket name in "
        "full: {expected}.",
    ),
    _code(
        "object_scope_too_narrow",
        ERROR,
        "aws s3 sync fails for files outside the allowed prefix",
        "object actions are allowed only under a prefix",
        "use BUCKET/* so every key is covered",
        "{where} allows {action} only on {resource}, part of the bucket, so "
        "files elsewhere fail, e.g. {request}: {aws_error} Use {expected} so "
        "every key is covered.",
    ),
    _code(
        "cloudfront_arn_has_region",
        ERROR,
        "the S3 sync works but the invalidation is denied",
        "the CloudFront ARN has a region; CloudFront ARNs have none",
        "leave the region segment empty",
        "{where} gives the distribution ARN {resource} a region, but CloudFront "
        "is global and its ARNs have an empty region segment "
        "(arn:aws:cloudfront::ACCOUNT:distribution/ID). The S3 sync works but "
        "the invalidation is denied: {aws_error} Use {expected}.",
    ),
    _code(
        "cloudfront_wrong_account",
        ERROR,
        "the S3 sync works but the invalidation is denied",
        "the distribution ARN names another account",
        "use the lab's account ID",
        "{where} names account {value} in {resource}, not the account the "
        "distribution is in. {consequence} Use {expected}.",
    ),
    _code(
        "cloudfront_wrong_distribution",
        ERROR,
        "the S3 sync works but the invalidation is denied",
        "the distribution ARN names another distribution (IDs are case-sensitive)",
        "copy the distribution ID exactly",
        "{where} names distribution {value} in {resource}, not the deploy's "
        "distribution (IDs are upper case and must match exactly). "
        "{consequence} Use {expected}.",
    ),
    _code(
        "cloudfront_malformed_arn",
        ERROR,
        "the S3 sync works but the invalidation is denied",
        "the ARN lacks distribution/ or another part of its shape",
        "write arn:aws:cloudfront::ACCOUNT:distribution/ID",
        "{where} gives {resource}, which is not the shape of a distribution ARN "
        "(arn:aws:cloudfront::ACCOUNT:distribution/ID: empty region, then the "
        "account, then distribution/ and the ID). {consequence} Use {expected}.",
    ),
    _code(
        "cloudfront_resource_too_broad",
        ERROR,
        "the deploy works, and a leaked key can invalidate other distributions",
        '"*", distribution/* or a wildcard in the distribution ID',
        "name the one distribution",
        "{where} allows {action} on {resource}, which covers other distributions "
        "too. {consequence} Name the one distribution: {expected}.",
    ),
    _code(
        "unknown_element",
        ERROR,
        _REFUSED,
        "an element name IAM does not know (names are case-sensitive)",
        "use the element names of the policy grammar",
        "{where} has the element {value}, which IAM does not know (element "
        "names are case-sensitive). create-policy fails with: {iam_error} {fix}",
    ),
    _code(
        "invalid_element_type",
        ERROR,
        _REFUSED,
        "an element has the wrong type",
        "give the element a value of the right type",
        "{where}: {problem}. create-policy fails with: {iam_error} Change the "
        "value to that type.",
    ),
    _code(
        "conflicting_elements",
        ERROR,
        _REFUSED,
        "a statement has both an element and its Not form",
        "keep one of the two",
        "{where} has {problem}; a statement takes one or the other. "
        "create-policy fails with: {iam_error} Keep only the one you mean "
        '(usually "Action" and "Resource").',
    ),
    _code(
        "missing_statement",
        ERROR,
        _REFUSED,
        "the document has no statements",
        'add a "Statement" list',
        "The document has no statements ({problem}). create-policy fails with: "
        '{iam_error} Add "Statement": [ ... ] with the statements the deploy '
        "needs.",
    ),
    _code(
        "invalid_condition",
        ERROR,
        _REFUSED,
        "a Condition IAM cannot parse (unknown operator or wrong shape)",
        "fix the operator name or the shape",
        "{where}: {problem}. create-policy fails with: {iam_error} Use an "
        "operator such as StringEquals, with a block of key and values.",
    ),
    _code(
        "invalid_action_format",
        ERROR,
        _REFUSED,
        "an action that is not service:action",
        "write the service prefix and the action",
        "{where} names the action {value}, which is not service:action. "
        "create-policy fails with: {iam_error} {fix}",
    ),
    _code(
        "duplicate_element",
        ERROR,
        "IAM keeps only the last of two equal keys, silently",
        "an element appears twice in one object",
        "merge the two into one list",
        "{where} has {value} twice; JSON readers keep only the last, so the "
        "first is silently lost. Merge both into one {value} list.",
    ),
    _code(
        "iam_arn_has_region",
        ERROR,
        _REFUSED,
        "an IAM ARN with a region; IAM is global",
        "leave the region segment empty",
        "{where} uses the IAM ARN {resource} with a region; IAM is global. "
        "create-policy fails with: {iam_error} Leave the region segment empty.",
    ),
    _code(
        "resource_too_broad",
        ERROR,
        "the deploy works, and a leaked key reaches other resources",
        "an action is allowed on resources beyond the intended ones",
        "narrow the Resource to the intended ARNs",
        "{where} allows {action} on {resource}, more than intended. "
        "{consequence} Narrow it to {expected}.",
    ),
    _code(
        "resource_not_matched",
        ERROR,
        _DENIED,
        "an intended resource is matched by no Allow for its action",
        "name the intended ARN in the statement's Resource",
        "{where} allows {action} on {resource}, which does not cover {request}. "
        "{consequence} Use {expected}.",
    ),
    _code(
        "stretch_goal_open",
        ADVICE,
        "a stretch goal is not met yet",
        "the optional goal is not in the policy",
        "see the stretch goals of the tutorial",
        "Stretch goal not met yet: {goal}. {fix}",
    ),
    _code(
        "analysis_inconclusive",
        ERROR,
        "the checkpoint could not be decided",
        "the solver gave no answer within its time limit",
        "simplify the Resource patterns",
        "The grader could not decide checkpoint {value} within its time limit "
        "({problem}), so it counts as not met. Simplify the wildcards in the "
        "Resource patterns and check again.",
    ),
    _code(
        "user_missing",
        ERROR,
        "later steps fail with NoSuchEntity",
        "the IAM user does not exist",
        "create the user",
        "There is no IAM user {user}, so the steps after it fail with: An error "
        "occurred (NoSuchEntity) when calling the CreateAccessKey operation: The "
        "user with name {user} cannot be found. Create it: aws iam create-user "
        "--user-name {user} --region {region} --output json",
        scope=LAB,
    ),
    _code(
        "console_access_enabled",
        ERROR,
        "the bot can sign in to the console with a password",
        "the user has a login profile",
        "delete the login profile",
        "{user} has a console password (a login profile), but a deploy bot "
        "authenticates only with access keys; `aws iam get-login-profile "
        "--user-name {user}` should answer NoSuchEntity. Remove it: aws iam "
        "delete-login-profile --user-name {user} --region {region} --output json",
        scope=LAB,
    ),
    _code(
        "access_key_missing",
        ERROR,
        "the pipeline has no credentials to sign its requests",
        "the user has no access key",
        "create an access key",
        "{user} has no access key, so the pipeline cannot sign any request. "
        "Create one and keep the key ID and secret: aws iam create-access-key "
        "--user-name {user} --region {region} --output json",
        scope=LAB,
    ),
    _code(
        "access_key_not_stored",
        ERROR,
        "the key is lost, or readable by other users of the machine",
        "the key is not in the lab's credentials file with mode 0600",
        "store the key pair and restrict the file",
        "The access key {key_id} is not stored securely: {detail}. Put the key "
        "ID and secret in {credentials_file} under [{profile}] and make the file "
        "readable by you only: chmod 600 {credentials_file}",
        scope=LAB,
    ),
    _code(
        "policy_not_created",
        ERROR,
        "attach-user-policy fails with NoSuchEntity",
        "the customer-managed policy does not exist",
        "create the policy",
        "There is no customer-managed policy {policy_name} in the account, so "
        "attaching it fails with: An error occurred (NoSuchEntity) when calling "
        "the AttachUserPolicy operation: Policy {policy_arn} does not exist or "
        "is not attachable. Create it: aws iam create-policy --policy-name "
        "{policy_name} --policy-document file://{policy_file} --region {region} "
        "--output json",
        scope=LAB,
    ),
    _code(
        "policy_not_attached",
        ERROR,
        "every deploy call fails with AccessDenied",
        "the policy is not attached to the user",
        "attach the policy",
        "{policy_name} exists but is not attached to {user}, so no identity-based "
        "policy allows anything and every deploy call is denied. Attach it: aws "
        "iam attach-user-policy --user-name {user} --policy-arn {policy_arn} "
        "--region {region} --output json",
        scope=LAB,
    ),
    _code(
        "invalid_client_token_id",
        ERROR,
        "get-caller-identity fails with InvalidClientTokenId",
        "the profile holds a wrong or unknown key ID, or the keys were mis-copied",
        "re-enter the key pair from create-access-key",
        "`aws sts get-caller-identity --profile {profile}` fails with: An error "
        "occurred (InvalidClientTokenId) when calling the GetCallerIdentity "
        "operation: The security token included in the request is invalid. The "
        "key ID {key_id} is wrong or unknown: the profile holds the wrong key "
        "pair, or the keys were mis-copied (S3 says InvalidAccessKeyId for the "
        "same mistake). Enter the key ID and secret that create-access-key "
        "printed: aws configure --profile {profile}",
        scope=LAB,
    ),
    _code(
        "signature_does_not_match",
        ERROR,
        "get-caller-identity fails with SignatureDoesNotMatch",
        "the key ID is right but the secret is wrong",
        "re-enter the secret access key",
        "`aws sts get-caller-identity --profile {profile}` fails with: An error "
        "occurred (SignatureDoesNotMatch) when calling the GetCallerIdentity "
        "operation: The request signature we calculated does not match the "
        "signature you provided. The key ID {key_id} is right but the secret "
        "does not belong to it (a mis-copied character, or another key's "
        "secret). Enter the secret again: aws configure --profile {profile}",
        scope=LAB,
    ),
    _code(
        "wrong_identity",
        ERROR,
        "get-caller-identity answers as another user",
        "the profile holds another identity's keys",
        "put the bot's key pair into the profile",
        "`aws sts get-caller-identity --profile {profile}` answers as "
        "{identity_arn}, not {user_arn}: the profile holds another identity's "
        "keys. Put {user}'s key ID and secret into it: aws configure --profile "
        "{profile}",
        scope=LAB,
    ),
    _code(
        "profile_missing",
        ERROR,
        "the CLI finds no credentials for the profile",
        "the named profile was never configured",
        "configure the profile",
        "The AWS CLI has no profile {profile} with credentials, so `aws sts "
        "get-caller-identity --profile {profile}` cannot sign anything. Configure "
        "it with the bot's key ID and secret, region {region} and output json: "
        "aws configure --profile {profile}",
        scope=LAB,
    ),
)

_POLICY_CHECKS = ("exact_actions", "s3_scoped", "cloudfront_scoped")
_REFUSALS = [
    "malformed_json",
    "invalid_version",
    "missing_effect",
    "invalid_effect",
    "missing_action_element",
    "missing_resource",
    "principal_in_identity_policy",
    "invalid_sid",
    "duplicate_sid",
    "invalid_character",
    "resource_not_arn",
    "leading_whitespace",
    "policy_too_large",
    "unknown_element",
    "invalid_element_type",
    "conflicting_elements",
    "missing_statement",
    "invalid_condition",
    "invalid_action_format",
    "iam_arn_has_region",
]
_CHECKPOINTS_OF: Mapping[str, tuple[str, ...]] = {
    **{code: (*_POLICY_CHECKS, "policy_created") for code in _REFUSALS},
    **{code: ("policy_created",) for code in ("missing_version", "version_2008")},
    **{
        code: _POLICY_CHECKS
        for code in [
            "misspelled_action",
            "missing_action",
            "deny_blocks_required",
            "condition_restricts",
            "duplicate_element",
            "analysis_inconclusive",
        ]
    },
    **{
        code: ("exact_actions",)
        for code in ["extra_action", "wildcard_action_too_broad", "notaction_too_broad"]
    },
    "notresource_too_broad": ("s3_scoped", "cloudfront_scoped"),
    **{c.code: ("s3_scoped",) for c in _CODES if c.code.startswith(("s3_", "object_"))},
    "listbucket_on_object_arn": ("s3_scoped",),
    "bucket_wildcard_too_broad": ("s3_scoped",),
    **{
        c.code: ("cloudfront_scoped",)
        for c in _CODES
        if c.code.startswith("cloudfront_")
    },
    "user_missing": ("user_no_console", "access_keys_stored", "policy_attached"),
    "console_access_enabled": ("user_no_console",),
    "access_key_missing": ("access_keys_stored",),
    "access_key_not_stored": ("access_keys_stored",),
    "policy_not_created": ("policy_created", "policy_attached"),
    "policy_not_attached": ("policy_attached",),
    **{
        code: ("identity_verified",)
        for code in [
            "invalid_client_token_id",
            "signature_does_not_match",
            "wrong_identity",
            "profile_missing",
        ]
    },
}

DIAGNOSES: Mapping[str, DiagnosisCode] = {
    c.code: replace(c, checkpoints=_CHECKPOINTS_OF.get(c.code, ())) for c in _CODES
}
"""Every diagnosis code, by code."""

AWS_ERROR_CODES: Mapping[str, str] = {
    "InvalidClientTokenId": "invalid_client_token_id",
    "InvalidAccessKeyId": "invalid_client_token_id",
    "SignatureDoesNotMatch": "signature_does_not_match",
    "ProfileNotFound": "profile_missing",
    "NoCredentials": "profile_missing",
}
"""AWS error codes the tutorial teaches, and the diagnosis that explains each."""

_AWS_ERROR_HINTS: Mapping[str, str] = {
    "AccessDenied": (
        "AccessDenied means no statement of the bot's policy allows this request, "
        "or a Deny forbids it. On S3: the object actions need the object ARN "
        "(ending in /*), and s3:ListBucket needs the bucket ARN without /*. On "
        "CloudFront: the distribution ARN has an empty region and names the "
        "account and the distribution exactly. `python -m grader check` names "
        "the statement to change."
    ),
    "MalformedPolicyDocument": (
        "IAM refused the policy document itself; `python -m grader check` shows "
        "which element is wrong and how to write it."
    ),
}

_LAB_DEFAULTS = {
    "key_id": "(unknown key)",
    "credentials_file": "the lab's credentials file",
    "detail": "it is not in the credentials file",
    "identity_arn": "another identity",
}


class _Context(dict):
    def __init__(self, code: str, values: Mapping[str, Any]) -> None:
        super().__init__(values)
        self.code = code

    def __missing__(self, key: str) -> str:
        raise KeyError(f"diagnosis {self.code} needs {key!r} in its context")


def lookup_diagnosis(code: str) -> DiagnosisCode:
    """The registered diagnosis; raises KeyError for an unknown code."""
    if code not in DIAGNOSES:
        raise KeyError(f"{code!r} is not a registered diagnosis code")
    return DIAGNOSES[code]


def mask_secret(value: str) -> str:
    """A key or secret with all but its last four characters masked."""
    return "*" * max(len(value) - 4, 0) + value[-4:]


def checkpoints_of(code: str) -> tuple[str, ...]:
    """The deploy-bot checkpoints a diagnosis code bears on."""
    return lookup_diagnosis(code).checkpoints


def explain_aws_error(error_code: str) -> str | None:
    """The tutorial's explanation of an AWS error code, or None if not taught."""
    if error_code in AWS_ERROR_CODES:
        entry = DIAGNOSES[AWS_ERROR_CODES[error_code]]
        return f"{error_code}: {entry.cause}; {entry.next_step}."
    return _AWS_ERROR_HINTS.get(error_code)


def describe(code: str, task: Task | None = None, **detail: Any) -> str:
    """The message of a diagnosis, with the task's names and ``detail``.

    ``arn`` in ``detail`` is the identity the profile answered as.
    """
    from grader.task import default_task

    if "arn" in detail:
        detail.setdefault("identity_arn", detail.pop("arn"))
    if "key_id" in detail:
        detail["key_id"] = mask_secret(str(detail["key_id"]))
    return make_diagnosis(code, task or default_task(), **detail).message


def make_diagnosis(
    code: str,
    task: Task | None = None,
    statement: str | int | None = None,
    severity: str | None = None,
    **context: Any,
) -> Diagnosis:
    """Render a registered diagnosis with the task's names and ``context``."""
    entry = lookup_diagnosis(code)
    values = {**_LAB_DEFAULTS, **(task.names if task else {}), **context}
    message = entry.template.format_map(_Context(code, values))
    return Diagnosis(
        code,
        severity or entry.severity,
        statement,
        " ".join(message.split()),
        action=context.get("action"),
        resource=context.get("resource"),
        checkpoints=entry.checkpoints,
    )


# Finding diagnoses in an evaluated policy ------------------------------------


@dataclass
class Finding:
    """A diagnosis before rendering; equal findings merge their details."""

    code: str
    statement: str | int | None
    context: dict[str, Any]
    actions: list[str] = field(default_factory=list)
    consequences: dict[str, str] = field(default_factory=dict)
    checkpoints: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str | int | None]:
        """What makes two findings the same diagnosis."""
        return (self.code, self.statement)


def _where(rule: Rule | None) -> str:
    if rule is None:
        return "The policy"
    return f"Statement {rule.sid}" if rule.sid else f"Statement[{rule.index}]"


def _iam_error(problem: PolicyProblem) -> str:
    if not problem.iam_message:
        return "it refuses the document."
    stop = "" if problem.iam_message.endswith(".") else "."
    return (
        f"An error occurred ({problem.iam_error}) when calling the CreatePolicy "
        f"operation: {problem.iam_message}{stop}"
    )


def _problem_fix(problem: PolicyProblem) -> str:
    suggestion = problem.suggestion
    if problem.code in ("misspelled_action", "invalid_action_format"):
        return (
            f"Did you mean {suggestion}?"
            if suggestion
            else "Check the name in the Service Authorization Reference."
        )
    if problem.code == "invalid_effect":
        return f'Write "{suggestion}".' if suggestion else 'Write "Allow" or "Deny".'
    if problem.code == "invalid_sid":
        return f'Use e.g. "{suggestion}".' if suggestion else "Use letters and digits."
    if problem.code == "invalid_character":
        return f"Retype it as {suggestion}." if suggestion else "Retype it by hand."
    if problem.code == "unknown_element":
        return f'Did you mean "{suggestion}"?' if suggestion else "Remove it."
    return ""


def _problem_finding(problem: PolicyProblem, document_errors, task: Task) -> Finding:
    named = problem.sid and problem.code != "invalid_sid"
    where = (
        "The document"
        if problem.statement is None
        else f"Statement {problem.sid}"
        if named
        else f"Statement[{problem.statement}]"
    )
    error = document_errors[0] if document_errors else None
    context = {
        "where": where,
        "problem": problem.message,
        "value": problem.value or "",
        "resource": problem.value or "",
        "fix": _problem_fix(problem),
        "iam_error": _iam_error(problem),
        "example": _example_arn(task),
        "expected": _expected_for(problem.value, task),
        "line": error.line if error else 1,
        "column": error.column if error else 1,
        "consequence": f"create-policy fails with: {_iam_error(problem)}",
    }
    statement = (
        None
        if problem.statement is None
        else problem.sid
        if named
        else problem.statement
    )
    return Finding(problem.code, statement, context)


def _example_arn(task: Task) -> str:
    return task.required[0].examples[0] if task.required else "arn:aws:s3:::bucket"


def _expected_for(value: str | None, task: Task) -> str:
    service = (value or "").split(":")[2:3]
    same = [r.resource for r in task.required if r.resource.split(":")[2:3] == service]
    return " or ".join(dict.fromkeys(same or [r.resource for r in task.required]))


def _problem_findings(evaluation: PolicyEvaluation, task: Task) -> Iterator[Finding]:
    document = evaluation.document
    for problem in document.problems:
        yield _problem_finding(problem, document.errors, task)


def _required_text(task: Task) -> str:
    return ", ".join(task.intent.actions)


def _first_required(task: Task, action: str) -> RequiredRequest | None:
    found = task.requests_for(action)
    return found[0] if found else None


def _aws_error(evaluation: PolicyEvaluation, task: Task, request: Request) -> str:
    decision = decide(evaluation.policy.rules, request.action, request.resource)
    required = _first_required(task, request.action)
    operation = required.operation if required else request.action.partition(":")[2]
    if decision.allowed:
        decision = replace(decision, allowed=False, explicit_deny=False)
    return decision.aws_error(task.principal_arn, operation) + "."


def _base_context(evaluation: PolicyEvaluation, task: Task, request: Request) -> dict:
    required = _first_required(task, request.action)
    return {
        "action": request.action,
        "request": request.resource,
        "expected": " or ".join(task.patterns(request.action)) or "the intended ARN",
        "operation": required.operation if required else request.action,
        "aws_error": _aws_error(evaluation, task, request),
        "required": _required_text(task),
        "conditional": "",
    }


def _missing_findings(
    request: Request, evaluation: PolicyEvaluation, task: Task
) -> list[Finding]:
    rules = [r for r in rules_for(evaluation.policy, request.action) if r.allow]
    context = _base_context(evaluation, task, request)
    if not rules:
        return [Finding("missing_action", None, {**context, "where": "The policy"})]
    if all(r.conditional for r in rules):
        return [
            Finding("condition_restricts", r.key, {**context, "where": _where(r)})
            for r in rules
        ]
    denies = [r for r in rules_for(evaluation.policy, request.action) if not r.allow]
    note = " whenever its Condition holds"
    return [
        Finding(
            "deny_blocks_required",
            r.key,
            {
                **context,
                "where": _where(r),
                "conditional": note if r.conditional else "",
            },
        )
        for r in denies
    ]


def _action_pattern(rule: Rule, action: str) -> str | None:
    matching = [p for p in rule.actions if wildcard_regex(p, True).fullmatch(action)]
    return next((p for p in matching if "*" in p or "?" in p), None)


def _extra_findings(
    request: Request, evaluation: PolicyEvaluation, task: Task
) -> list[Finding]:
    context = _base_context(evaluation, task, request)
    note = " (a Condition does not help: when it holds, the grant is real)"
    found = []
    for rule in rules_for(evaluation.policy, request.action):
        if not rule.allow:
            continue
        values = {
            **context,
            "where": _where(rule),
            "conditional": note if rule.conditional else "",
        }
        if not rule.matches(request.action, request.resource):
            example = rule_example(evaluation.policy, rule, task.intent) or request
            values.update(action=example.action, request=example.resource)
        pattern = _action_pattern(rule, request.action)
        if rule.not_action:
            found.append(Finding("notaction_too_broad", rule.key, values))
        elif pattern is not None:
            meant = _required_matching(pattern, task) or _required_text(task)
            values = {**values, "pattern": pattern, "required": meant}
            found.append(Finding("wildcard_action_too_broad", rule.key, values))
        else:
            found.append(Finding("extra_action", rule.key, values))
    return found


def _required_matching(pattern: str, task: Task) -> str:
    regex = wildcard_regex(pattern, True)
    return ", ".join(a for a in task.intent.actions if regex.fullmatch(a))


def _action_findings(
    evaluation: PolicyEvaluation, spec: CheckpointSpec, task: Task
) -> Iterator[Finding]:
    check = evaluation.results[spec.id].action_check
    if check is None:
        return
    for request in check.missing:
        yield from _missing_findings(request, evaluation, task)
    for request in check.extra:
        yield from _extra_findings(request, evaluation, task)


# Resource mistakes -------------------------------------------------------------


def _fit(kind: ResourceType, pattern: str) -> dict[str, str] | None:
    """The slot texts of a pattern written in the shape of ``kind``'s ARN."""
    template = kind.resource_template
    pieces, names = [], []
    for piece in re.split(r"(\$\{[^}]+\})", template):
        if piece.startswith("${"):
            names.append(piece[2:-1])
            pieces.append("(.*?)")
        else:
            pieces.append(re.escape(piece))
    if pieces and pieces[-1] == "(.*?)":
        pieces[-1] = "(.*)"
    parts = pattern.split(":", 5)
    if len(parts) < 6:
        return None
    match = re.fullmatch("".join(pieces), parts[5], re.DOTALL)
    if match is None:
        return None
    values = dict(zip(names, match.groups(), strict=True))
    values.update({"Region": parts[3], "Account": parts[4]})
    return values


def _intended_kind(task: Task, action: str) -> ResourceType | None:
    catalog = load_catalog()
    details = catalog.action(action)
    if details is None:
        return None
    examples = task.examples(action)
    for kind in catalog.types_of(details):
        if any(kind.contains(e) for e in examples):
            return kind
    return None


def _has_wildcard(text: str) -> bool:
    return "*" in text or "?" in text


def _slot_code(mapping: ScopeDiagnoses, slot: str, kind: str, fallback: str) -> str:
    return mapping.for_slot(slot, kind) or fallback


def _under_codes(
    pattern: str, action: str, spec: CheckpointSpec, task: Task
) -> list[tuple[str, str]]:
    """Codes (with the slot value) for a pattern that misses its intended ARN."""
    mapping = spec.diagnoses
    kind = _intended_kind(task, action)
    intended = task.patterns(action)
    parts = pattern.split(":", 5)
    wanted = intended[0].split(":", 5) if intended else []
    if pattern == "*" or kind is None or len(wanted) < 6:
        return []
    if len(parts) < 6 or parts[2] != wanted[2]:
        return [(mapping.malformed or mapping.not_matched, pattern)]
    if parts[3] != wanted[3] and mapping.region:
        return [(mapping.region, parts[3])]
    if parts[4] != wanted[4] and not wildcard_regex(parts[4]).fullmatch(wanted[4]):
        return [(mapping.account or mapping.not_matched, parts[4])]
    have, want = _fit(kind, pattern), _fit(kind, intended[0])
    if have is None or want is None:
        return [(mapping.malformed or mapping.not_matched, pattern)]
    return _slot_differences(have, want, mapping)


def _slot_differences(
    have: Mapping[str, str], want: Mapping[str, str], mapping: ScopeDiagnoses
) -> list[tuple[str, str]]:
    codes = []
    for slot, wanted in want.items():
        value = have.get(slot, "")
        mine, theirs = resource_glob(value)[0], resource_glob(wanted)[0]
        if covers(mine, theirs):
            continue
        kind = "narrow" if covers(theirs, mine) else "wrong"
        codes.append((_slot_code(mapping, slot, kind, mapping.not_matched), value))
    return codes[:1]


def _wrong_type(rule: Rule, pattern: str, action: str, task: Task) -> tuple[bool, bool]:
    """Whether the pattern is another required action's ARN, and served by the rule."""
    required = _first_required(task, action)
    catalog = load_catalog()
    for other in task.required:
        if other.action == action or required is None or not required.wrong_type:
            continue
        if catalog.authorizes(action, other.examples[0]):
            continue
        if wildcard_regex(pattern).fullmatch(other.examples[0]):
            return True, rule.matches_action(other.action)
    return False, False


def _under_findings(
    request: Request, evaluation: PolicyEvaluation, spec: CheckpointSpec, task: Task
) -> list[Finding]:
    policy = evaluation.policy
    decision = decide(policy.rules, request.action, request.resource)
    context = _base_context(evaluation, task, request)
    context["consequence"] = f"The deploy fails with: {context['aws_error']}"
    context["direction"] = "under"
    matched = [r for r in policy.rules if r.matches(request.action, request.resource)]
    if decision.possible:
        soft_denies = [r for r in matched if not r.allow]
        code = "deny_blocks_required" if soft_denies else "condition_restricts"
        rule = (soft_denies or [r for r in matched if r.allow])[0]
        note = " whenever its Condition holds" if soft_denies else ""
        return [
            Finding(
                code, rule.key, {**context, "where": _where(rule), "conditional": note}
            )
        ]
    if decision.explicit_deny:
        rule = next(r for r in matched if not r.allow and not r.conditional)
        return [
            Finding(
                "deny_blocks_required", rule.key, {**context, "where": _where(rule)}
            )
        ]
    return _resource_mistakes(request, evaluation, spec, task, context)


def _resource_mistakes(
    request: Request,
    evaluation: PolicyEvaluation,
    spec: CheckpointSpec,
    task: Task,
    context: dict,
) -> list[Finding]:
    allows = [r for r in rules_for(evaluation.policy, request.action) if r.allow]
    strong, weak = [], []
    required = _first_required(task, request.action)
    for rule in allows:
        for pattern in _patterns(rule, evaluation):
            values = {**context, "where": _where(rule), "resource": pattern}
            other, served = _wrong_type(rule, pattern, request.action, task)
            if other and required and required.wrong_type:
                target = weak if served else strong
                target.append(Finding(required.wrong_type, rule.key, values))
                continue
            for code, value in _under_codes(pattern, request.action, spec, task):
                strong.append(Finding(code, rule.key, {**values, "value": value}))
    found = strong or weak
    if not found and allows:
        rule = allows[0]
        resource = ", ".join(_patterns(rule, evaluation)) or "its resources"
        values = {**context, "where": _where(rule), "resource": resource}
        found = [Finding(spec.diagnoses.not_matched, rule.key, values)]
    return found


def _patterns(rule: Rule, evaluation: PolicyEvaluation) -> tuple[str, ...]:
    if rule.spec.negated:
        return ()
    for statement in evaluation.document.statements:
        if statement.index == rule.index:
            return statement.resources
    return ()


_ALIENS: Mapping[str, tuple[str, ...]] = {
    "BucketName": ("amzn-s3-demo-bucket", "zz9-other-bucket"),
    "Account": ("111122223333", "999988887777"),
    "DistributionId": ("EDFDVBD6EXAMPLE", "Z9Y8X7W6"),
}


def _over_codes(
    pattern: str, request: Request, spec: CheckpointSpec, task: Task
) -> list[tuple[str, str]]:
    """Codes (with the slot value) for a pattern that allows an unintended ARN."""
    mapping = spec.diagnoses
    catalog = load_catalog()
    action = catalog.action(request.action)
    intended = _intended_kind(task, request.action)
    if pattern == "*" or action is None or intended is None:
        return [(mapping.too_broad, pattern)]
    if not intended.contains(request.resource):
        return [(mapping.too_broad, pattern)]
    have = intended.fields(request.resource) or {}
    want = next(
        (f for e in task.examples(request.action) if (f := intended.fields(e))), {}
    )
    differing = [
        slot for slot in intended.variables() if have.get(slot) != want.get(slot)
    ]
    if not differing:
        return [(mapping.too_broad, pattern)]
    slot = differing[0]
    return [(_over_slot_code(pattern, slot, have, intended, mapping), have[slot])]


def _over_slot_code(
    pattern: str,
    slot: str,
    have: Mapping[str, str],
    kind: ResourceType,
    mapping: ScopeDiagnoses,
) -> str:
    regex = wildcard_regex(pattern)
    aliens = _ALIENS.get(slot, ("example", "zz9-other"))
    probes = [kind.arn_from({**have, slot: alien}) for alien in aliens]
    if all(regex.fullmatch(p) for p in probes):
        return mapping.too_broad
    fitted = _fit(kind, pattern)
    text = fitted.get(slot, pattern) if fitted else pattern
    if _has_wildcard(text):
        return _slot_code(mapping, slot, "wildcard", mapping.too_broad)
    return _slot_code(mapping, slot, "wrong", mapping.too_broad)


def _over_findings(
    request: Request, evaluation: PolicyEvaluation, spec: CheckpointSpec, task: Task
) -> list[Finding]:
    context = _base_context(evaluation, task, request)
    context["consequence"] = (
        f"A leaked key could also call {request.action} on {request.resource}."
    )
    context["direction"] = "over"
    found = []
    for rule in evaluation.policy.rules:
        if not (rule.allow and rule.matches(request.action, request.resource)):
            continue
        values = {**context, "where": _where(rule)}
        if rule.spec.negated:
            found.append(Finding("notresource_too_broad", rule.key, values))
            continue
        for pattern in _patterns(rule, evaluation):
            if not wildcard_regex(pattern).fullmatch(request.resource):
                continue
            for code, value in _over_codes(pattern, request, spec, task):
                found.append(
                    Finding(
                        code, rule.key, {**values, "resource": pattern, "value": value}
                    )
                )
    return found


def _combined(findings: list[Finding], mapping: ScopeDiagnoses) -> list[Finding]:
    for combination in mapping.combined:
        parts = [f for f in findings if f.code in combination.codes]
        if {f.code for f in parts} != set(combination.codes):
            continue
        where = ", ".join(dict.fromkeys(f.context["where"] for f in parts))
        expected = "; ".join(
            f"{f.context['action']} on {f.context['expected']}" for f in parts
        )
        context = {**parts[0].context, "where": where, "expected": expected}
        rest = [f for f in findings if f not in parts]
        return [Finding(combination.code, None, context), *rest]
    return findings


def _scope_findings(
    evaluation: PolicyEvaluation, spec: CheckpointSpec, task: Task
) -> list[Finding]:
    result = evaluation.results[spec.id]
    check = result.scope_check
    if check is None:
        return []
    found: list[Finding] = []
    for request in check.under:
        found.extend(_under_findings(request, evaluation, spec, task))
    for request in check.over:
        found.extend(_over_findings(request, evaluation, spec, task))
    return _combined(_merged(found), spec.diagnoses)


def _merged(findings: Iterable[Finding]) -> list[Finding]:
    merged: dict[tuple, Finding] = {}
    for finding in findings:
        action = finding.context.get("action")
        consequence = finding.context.get("consequence")
        kind = finding.context.get("direction", "")
        kept = merged.setdefault(finding.key, finding)
        if action and action not in kept.actions:
            kept.actions.append(action)
        if consequence:
            kept.consequences.setdefault(kind, consequence)
        for checkpoint in finding.checkpoints:
            if checkpoint not in kept.checkpoints:
                kept.checkpoints.append(checkpoint)
    return list(merged.values())


def _inconclusive_findings(evaluation: PolicyEvaluation) -> Iterator[Finding]:
    for result in evaluation.results.values():
        if result.inconclusive:
            context = {"value": result.id, "problem": result.inconclusive}
            yield Finding("analysis_inconclusive", None, context)


def _render(finding: Finding, task: Task, severity: str | None) -> Diagnosis:
    context = dict(finding.context)
    if len(finding.actions) > 1:
        context["action"] = " and ".join(finding.actions)
    if finding.consequences:
        context["consequence"] = " ".join(finding.consequences.values())
    diagnosis = make_diagnosis(
        finding.code, task, finding.statement, severity, **context
    )
    return replace(
        diagnosis,
        action=finding.context.get("action"),
        checkpoints=tuple(finding.checkpoints),
    )


def _stretch_findings(evaluation: PolicyEvaluation, task: Task) -> Iterator[Finding]:
    fixes = {
        "explicit_deny": 'Add a statement with "Effect": "Deny" for {action} on '
        "{resource}: a guardrail that still holds if the Allow statements widen.",
        "all_sids": "Give every statement a descriptive Sid, e.g. AllowS3DeploySync.",
    }
    for goal in task.stretch:
        if evaluation.stretch.get(goal.id):
            continue
        fix = fixes[goal.check].format(action=goal.action, resource=goal.resource)
        yield Finding("stretch_goal_open", goal.id, {"goal": goal.title, "fix": fix})


def _summary(task: Task) -> str:
    return "; ".join(f"{r.action} on {r.resource}" for r in task.required)


def _tagged(findings: Iterable[Finding], checkpoints: Iterable[str]) -> list[Finding]:
    found = list(findings)
    for finding in found:
        finding.checkpoints.extend(
            c for c in checkpoints if c not in finding.checkpoints
        )
    return found


def _policy_findings(evaluation: PolicyEvaluation, task: Task) -> list[Finding]:
    every = [c.id for c in task.policy_checkpoints]
    findings = _tagged(_problem_findings(evaluation, task), every)
    if not evaluation.document.valid:
        return findings
    for spec in task.policy_checkpoints:
        if spec.check == "actions":
            findings += _tagged(_action_findings(evaluation, spec, task), [spec.id])
        else:
            findings += _tagged(_scope_findings(evaluation, spec, task), [spec.id])
    for finding in _inconclusive_findings(evaluation):
        findings += _tagged([finding], [finding.context["value"]])
    return findings


def diagnose(evaluation: PolicyEvaluation, task: Task) -> tuple[Diagnosis, ...]:
    """Every diagnosis for an evaluated policy; ``ok`` first when it passes."""
    findings = _merged(_policy_findings(evaluation, task))
    if not evaluation.passes:
        return tuple(_render(f, task, None) for f in findings)
    ok = make_diagnosis("ok", task, summary=_summary(task))
    advice = [*findings, *_stretch_findings(evaluation, task)]
    return (ok, *(_render(f, task, ADVICE) for f in advice))
