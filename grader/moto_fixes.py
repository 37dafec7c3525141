"""Patches to moto's internals that make the lab's emulator behave like AWS.

moto is pinned at 5.2.5 in pyproject.toml because every patch here replaces a
method or table inside moto itself; ``apply`` refuses any other version.

What the patches change, for the requests this lab makes:

- IAM enforcement is on from the first request; ``guard`` refuses unsigned
  query-protocol calls and every part of moto's control API but reset, seed
  and config, so enforcement cannot be switched off over HTTP.
- Every authorization goes through ``decide``, which asks the grader's own
  evaluator (``grader.evaluator.evaluate_request``) about the caller's
  identity-based policies (inline, attached, and those of the caller's
  groups) and words the denial the way AWS does. moto's evaluator, still used
  for S3 bucket policies and role trust policies, matches as IAM does:
  action names case-insensitive, ``*`` and ``?`` the only wildcards,
  ``NotResource`` a complement.
- CloudFront requests are authorized against the distribution's ARN, and their
  auth errors use CloudFront's error shape, so clients see the real code.
- A body-less request (CloudFront GET and DELETE) is signed over an empty
  payload, as the SDKs sign it.
- An access key set Inactive no longer authenticates.
- S3: a PutObject carrying an ACL also needs ``s3:PutObjectAcl``; DeleteObjects
  is authorized per key as ``s3:DeleteObject``; HeadBucket needs
  ``s3:ListBucket``.
- IAM requests that name a user or a policy are authorized against its ARN.

Known gaps: conditions are not evaluated against the request, so a
conditional Allow grants nothing and a conditional Deny still denies, exactly
as the grader judges them; permission boundaries and resource-based policies
other than S3 bucket policies are not evaluated; a request authenticated by a
presigned URL is treated as anonymous and denied.
"""

import json
import logging
import re
from collections.abc import Callable
from typing import Any, NamedTuple
from urllib.parse import urlparse

import moto
import xmltodict
from moto import settings
from moto.cloudfront.responses import CloudFrontResponse
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import AccessDeniedError, _RESTError
from moto.core.responses import ActionResult
from moto.iam.access_control import (
    CreateAccessKeyFailure,
    IAMPolicyStatement,
    IAMRequest,
    IAMRequestBase,
    IAMUserAccessKey,
    PermissionResult,
    S3IAMRequest,
)
from moto.iam.models import Policy
from moto.iam.responses import IamResponse
from moto.moto_api._internal.models import MotoAPIBackend
from moto.s3 import responses as s3_responses
from moto.s3.exceptions import (
    BucketAccessDeniedError,
    MalformedXML,
    S3AccessDeniedError,
)
from moto.s3.responses import S3Response
from werkzeug.exceptions import HTTPException

from grader.evaluator import evaluate_request

__all__ = [
    "ACL_HEADERS",
    "MOTO_VERSION",
    "AccessDecision",
    "MotoVersionMismatch",
    "apply",
    "authenticate",
    "decide",
    "denial_message",
    "glob_matches",
    "guard",
    "on_reset",
    "warm_up",
]

MOTO_VERSION = "5.2.5"
ACL_HEADERS = (
    "x-amz-acl",
    "x-amz-grant-full-control",
    "x-amz-grant-read",
    "x-amz-grant-read-acp",
    "x-amz-grant-write-acp",
)
_MISSING_TOKEN = "Request is missing Authentication Token"
_CONTROL_PATHS = {"/moto-api/reset", "/moto-api/seed", "/moto-api/config"}
_CONTROL_REFUSAL = json.dumps(
    {"Error": "The lab's emulator offers only reset, seed and config here."}
).encode()
_CLOUDFRONT_DISTRIBUTION_PATH = re.compile(r"^/\d{4}-\d{2}-\d{2}/distribution/([^/]+)")
_IAM_SELF_ACTIONS = {
    "CreateAccessKey",
    "DeleteAccessKey",
    "GetUser",
    "ListAccessKeys",
    "UpdateAccessKey",
}
_IAM_POLICY_ACTIONS = {
    "CreatePolicyVersion",
    "DeletePolicy",
    "DeletePolicyVersion",
    "GetPolicy",
    "GetPolicyVersion",
    "ListEntitiesForPolicy",
    "ListPolicyVersions",
    "SetDefaultPolicyVersion",
}

log = logging.getLogger(__name__)
_reset_hooks: list[Callable[[], None]] = []
_originals: dict[str, Any] = {}


class AccessDecision(NamedTuple):
    """The outcome of authorizing one request."""

    allowed: bool
    explicit_deny: bool
    message: str


class MotoVersionMismatch(RuntimeError):
    """The installed moto is not the version these patches were written for."""


# Policy matching in moto's evaluator, which still judges S3 bucket policies
# and role trust policies


def _patch_policy_matching() -> None:
    _replace(IAMPolicyStatement, "_check_element_matches", _element_matches)
    _replace(IAMPolicyStatement, "is_action_permitted", _statement_permitted)


def glob_matches(pattern: str, value: str, fold_case: bool = False) -> bool:
    """IAM's matching: ``*`` any run, ``?`` one character, all else literal."""
    parts = [".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern]
    flags = re.DOTALL | (re.IGNORECASE if fold_case else 0)
    return re.fullmatch("".join(parts), value, flags) is not None


def _element_matches(self: Any, element: str, value: str) -> bool:
    """Replaces moto's regex matching, which is case-sensitive for actions,
    has no ``?`` and lets ``.`` match any character."""
    patterns = self._statement[element]
    if isinstance(patterns, str):
        patterns = [patterns]
    fold_case = element in ("Action", "NotAction")
    return any(glob_matches(p, value, fold_case) for p in patterns)


def _statement_permitted(
    self: Any,
    action: str,
    resource: str = "*",
    principal: str | None = None,
    incoming_condition_values: dict[str, str] | None = None,
) -> PermissionResult:
    """Honour NotResource, which moto reads as no resource restriction at all."""
    original = _originals["IAMPolicyStatement.is_action_permitted"]
    if "NotResource" not in self._statement:
        return original(self, action, resource, principal, incoming_condition_values)
    if self._check_element_matches("NotResource", resource):
        return PermissionResult.NEUTRAL

    statement = {k: v for k, v in self._statement.items() if k != "NotResource"}
    statement["Resource"] = "*"
    return original(
        type(self)(statement),
        action,
        resource,
        principal,
        incoming_condition_values,
    )


def decide(
    principal_arn: str, documents: list[str], action: str, resource: str
) -> AccessDecision:
    """Decide whether the identity-based policy documents allow action on resource.

    The decision is the grader's own (``grader.evaluator``), so the lab
    enforces exactly what the grader predicts.

    Args:
        principal_arn: ARN of the caller, used in the denial message.
        documents: the caller's policy documents, as JSON text.
        action: ``service:Action`` as the request needs it.
        resource: the ARN the request acts on, or ``*``.
    """
    decision = evaluate_request(documents, action, resource)
    if decision.allowed:
        return AccessDecision(True, False, "")
    explicit_deny = decision.explicit_deny
    message = denial_message(principal_arn, action, resource, explicit_deny)
    return AccessDecision(False, explicit_deny, message)


def warm_up() -> None:
    """Load what the first decision needs, so no request waits for it."""
    document = {"Version": "2012-10-17", "Statement": []}
    decide("arn:aws:iam::123456789012:user/warm-up", [json.dumps(document)], "*", "*")


def denial_message(
    principal_arn: str, action: str, resource: str, explicit_deny: bool
) -> str:
    """Word an AccessDenied the way IAM does for identity-based policies."""
    target = "" if resource == "*" else f" on resource: {resource}"
    if explicit_deny:
        reason = "with an explicit deny in an identity-based policy"
    else:
        reason = f"because no identity-based policy allows the {action} action"
    return (
        f"User: {principal_arn} is not authorized to perform: {action}{target} {reason}"
    )


def on_reset(hook: Callable[[], None]) -> None:
    """Run hook after every moto reset (``POST /moto-api/reset`` included)."""
    if hook not in _reset_hooks:
        _reset_hooks.append(hook)


def apply() -> None:
    """Install every patch into this process's moto; a second call does nothing.

    Seeding is not part of it: register the seed with ``on_reset`` and run it
    once yourself before serving.
    """
    if moto.__version__ != MOTO_VERSION:
        raise MotoVersionMismatch(
            f"The lab's emulator patches moto {MOTO_VERSION}, but moto "
            f"{moto.__version__} is installed; reinstall with `pip install -e .`."
        )
    if _originals:
        return

    _enforce_from_first_request()
    _patch_policy_matching()
    _patch_authorization()
    _patch_access_keys()
    _patch_s3()
    _patch_cloudfront()
    _patch_iam_resources()
    _patch_reset()


def _replace(owner: Any, name: str, replacement: Any) -> Any:
    """Swap owner.name for replacement and return what was there."""
    original = getattr(owner, name)
    _originals[f"{owner.__name__}.{name}"] = original
    setattr(owner, name, replacement)
    return original


def _first(data: dict[str, Any], name: str) -> str | None:
    """The first value of a parsed query parameter, if present."""
    value = data.get(name)
    if isinstance(value, list):
        return value[0] if value else None
    return value


# Enforcement and authorization


def guard(app: Callable) -> Callable:
    """Wrap the server's WSGI app in the lab's two refusals.

    Unsigned query-protocol calls get MissingAuthenticationToken: without a
    signature moto cannot tell IAM or STS from S3 on one host and answers in
    S3's error shape, which query-protocol clients cannot read. moto's control
    API is limited to reset, seed and config: the rest can switch enforcement
    off (``reset-auth``) or show every secret key in full (``data.json``).
    """

    def guarded(environ: dict[str, Any], start_response: Callable) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/moto-api") and path not in _CONTROL_PATHS:
            return _respond(start_response, "403 Forbidden", _CONTROL_REFUSAL)
        if _unsigned_form_post(environ):
            body = _query_error("MissingAuthenticationToken", _MISSING_TOKEN)
            return _respond(start_response, "403 Forbidden", body, "text/xml")
        return app(environ, start_response)

    return guarded


def _respond(
    start_response: Callable,
    status: str,
    body: bytes,
    content_type: str = "application/json",
) -> list[bytes]:
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    start_response(status, headers)
    return [body]


def _unsigned_form_post(environ: dict[str, Any]) -> bool:
    return (
        environ.get("REQUEST_METHOD") == "POST"
        and "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", "")
        and "HTTP_AUTHORIZATION" not in environ
    )


def _query_error(code: str, message: str) -> bytes:
    body = {
        "ErrorResponse": {
            "Error": {"Type": "Sender", "Code": code, "Message": message},
            "RequestId": "",
        }
    }
    return xmltodict.unparse(body, full_document=True).encode()


def _enforce_from_first_request() -> None:
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
    ActionAuthenticatorMixin.request_count = 0


def _patch_authorization() -> None:
    _replace(
        ActionAuthenticatorMixin,
        "_authenticate_and_authorize_action",
        _authenticate_and_authorize_action,
    )
    _replace(IAMRequestBase, "check_action_permitted", _check_action_permitted)
    _replace(IAMRequest, "_raise_access_denied", _raise_iam_access_denied)
    _patch_empty_payload_signature()


def authenticate(response: Any, iam_request_cls: type) -> IAMRequestBase | None:
    """Check who signed the request; None when moto's auth is switched off."""
    count = ActionAuthenticatorMixin.request_count
    if count < settings.INITIAL_NO_AUTH_ACTION_COUNT:
        ActionAuthenticatorMixin.request_count = count + 1
        return None
    if "Authorization" not in response.headers:
        _raise_anonymous(response, iam_request_cls)

    query = urlparse(response.uri).query
    iam_request = iam_request_cls(
        account_id=response.current_account,
        method=response.method,
        path=response.raw_path + (f"?{query}" if query else ""),
        data=response.data,
        body=response.raw_body,
        headers=response.headers,
        action=response._get_action(),
    )
    iam_request.check_signature()
    return iam_request


def _authenticate_and_authorize_action(
    self: Any, iam_request_cls: type, resource: str = "*"
) -> None:
    if self.headers.get("X-Amz-Target") in ActionAuthenticatorMixin.PUBLIC_OPERATIONS:
        return
    iam_request = authenticate(self, iam_request_cls)
    if iam_request is None:
        return
    iam_request.check_action_permitted(resource)
    if _carries_object_acl(self, iam_request, resource):
        iam_request._action = "s3:PutObjectAcl"
        iam_request.check_action_permitted(resource)


def _carries_object_acl(response: Any, iam_request: Any, resource: str) -> bool:
    """Whether an S3 object write also sets an ACL, as AWS authorizes it."""
    on_object = "/" in resource.partition(":::")[2]
    if iam_request._action != "s3:PutObject" or not on_object:
        return False
    return any(header in response.headers for header in ACL_HEADERS)


def _raise_anonymous(response: Any, iam_request_cls: type) -> None:
    if issubclass(iam_request_cls, S3IAMRequest):
        bucket = response.data.get("BucketName")
        if bucket:
            raise BucketAccessDeniedError(bucket=bucket)
        raise S3AccessDeniedError()
    raise MissingAuthenticationToken()


class MissingAuthenticationToken(_RESTError):
    """An unsigned request to a service that needs a signature."""

    code = 403

    def __init__(self) -> None:
        super().__init__("MissingAuthenticationToken", _MISSING_TOKEN)


class LabAccessDenied(AccessDeniedError):
    """AccessDenied with the message AWS gives for identity-based policies."""

    def __init__(self, message: str) -> None:
        _RESTError.__init__(self, "AccessDenied", message)


def _document_text(policy: Any) -> str:
    """The JSON text of a policy as moto's collect_policies returns it."""
    if isinstance(policy, Policy):
        version = next(v for v in policy.versions if v.is_default)
        return version.document
    if isinstance(policy, str):
        return policy
    return policy["policy_document"]


def _check_action_permitted(self: Any, resource: str) -> None:
    principal = self._access_key.arn
    if self._action == "sts:GetCallerIdentity":
        _log_decision(principal, self._action, resource, "allowed, always")
        return

    documents = [_document_text(p) for p in self._access_key.collect_policies()]
    decision = decide(principal, documents, self._action, resource)
    allowed = decision.allowed
    if allowed and self._is_assuming_role_operation(resource):
        allowed = self._check_role_trust_relationship(resource)
    outcome = "allowed" if allowed else "denied"
    if decision.explicit_deny:
        outcome = "denied explicitly"
    _log_decision(principal, self._action, resource, outcome)

    if not allowed:
        self._denial_message = decision.message or denial_message(
            principal, self._action, resource, explicit_deny=False
        )
        self._raise_access_denied()


def _log_decision(principal: str, action: str, resource: str, outcome: str) -> None:
    log.debug("authorize %s on %s for %s: %s", action, resource, principal, outcome)


def _raise_iam_access_denied(self: Any) -> None:
    message = getattr(self, "_denial_message", None) or denial_message(
        self._access_key.arn, self._action, "*", explicit_deny=False
    )
    raise LabAccessDenied(message)


def _patch_empty_payload_signature() -> None:
    _replace(IAMRequestBase, "_create_aws_request", _create_aws_request)


def _create_aws_request(self: Any) -> Any:
    """Sign a body-less request over b"", not over moto's parsed parameters.

    moto falls back to the parsed query (or, failing that, the headers) as the
    payload when the body is empty; that is right only for form posts, whose
    body moto has already consumed.
    """
    request = _originals["IAMRequestBase._create_aws_request"](self)
    content_type = self._headers.get("Content-Type", "")
    if not self._body and "x-www-form-urlencoded" not in content_type:
        request.data = b""
    return request


# Access keys


def _patch_access_keys() -> None:
    _replace(IAMUserAccessKey, "__init__", _user_access_key_init)


def _user_access_key_init(
    self: Any,
    account_id: str,
    partition: str,
    access_key_id: str,
    headers: dict[str, str],
) -> None:
    _originals["IAMUserAccessKey.__init__"](
        self, account_id, partition, access_key_id, headers
    )
    user = self.backend.get_user(self._owner_user_name)
    key = next(k for k in user.access_keys if k.access_key_id == access_key_id)
    if key.status != "Active":
        raise CreateAccessKeyFailure(reason="InvalidId")


# S3


def _patch_s3() -> None:
    s3_responses.ACTION_MAP["BUCKET"]["HEAD"]["DEFAULT"] = "ListBucket"
    _replace(S3Response, "_bucket_response_post", _bucket_response_post)


def _bucket_response_post(self: Any, request: Any, bucket_name: str) -> Any:
    self.path = self._get_path(request)
    if request.headers.get("Content-Length") and self.is_delete_keys():
        return _delete_objects(self, bucket_name)
    return _originals["S3Response._bucket_response_post"](self, request, bucket_name)


def _delete_objects(self: Any, bucket_name: str) -> Any:
    """DeleteObjects, authorized per key as s3:DeleteObject on the object."""
    self.data["Action"] = "DeleteObject"
    iam_request = authenticate(self, S3IAMRequest)
    bucket = self.backend.get_bucket(bucket_name)

    allowed, errors = [], []
    for obj in _objects_to_delete(self.body):
        arn = f"arn:{self.partition}:s3:::{bucket_name}/{obj['Key']}"
        if _may_delete(iam_request, bucket, arn):
            allowed.append(obj)
        else:
            errors.append((obj["Key"], "AccessDenied", "Access Denied"))

    bypass = self.headers.get("x-amz-bypass-governance-retention", "")
    deleted, locked = self.backend.delete_objects(
        bucket_name, allowed, bypass.lower() == "true"
    )
    locked_message = "Access Denied because object protected by object lock."
    errors += [(key, "AccessDenied", locked_message) for key in locked]
    return _delete_objects_result(self, deleted, errors)


def _objects_to_delete(body: bytes) -> list[dict[str, Any]]:
    objects = xmltodict.parse(body, strip_whitespace=False)["Delete"].get("Object", [])
    if not isinstance(objects, list):
        objects = [objects]
    if not objects:
        raise MalformedXML()
    return objects


def _may_delete(iam_request: Any, bucket: Any, arn: str) -> bool:
    if bucket.get_permission("s3:DeleteObject", arn) == PermissionResult.DENIED:
        return False
    if iam_request is None:
        return True
    try:
        iam_request.check_action_permitted(arn)
    except S3AccessDeniedError:
        return False
    return True


def _delete_objects_result(self: Any, deleted: list, errors: list) -> Any:
    deleted_objects = [
        {
            "Key": key,
            "VersionId": version or None,
            "DeleteMarkerVersionId": marker or None,
            "DeleteMarker": True if marker else None,
        }
        for key, version, marker in deleted
    ]
    error_objects = [{"Key": k, "Code": c, "Message": m} for k, c, m in errors]
    self.data["Action"] = "DeleteObjects"
    result = {"Deleted": deleted_objects, "Errors": error_objects}
    return self.serialized(ActionResult(result))


# CloudFront


def _patch_cloudfront() -> None:
    CloudFrontResponse._determine_resource = _cloudfront_resource
    CloudFrontResponse._authenticate_and_authorize_normal_action = _cloudfront_authorize


def _cloudfront_resource(self: Any) -> str:
    """The distribution ARN for requests on one distribution, else ``*``."""
    match = _CLOUDFRONT_DISTRIBUTION_PATH.match(self.path)
    if not match:
        return "*"
    account = self.current_account
    return f"arn:{self.partition}:cloudfront::{account}:distribution/{match[1]}"


def _cloudfront_authorize(self: Any, resource: str = "*") -> None:
    try:
        self._authenticate_and_authorize_action(IAMRequest, resource)
    except _RESTError as error:
        raise CloudFrontAuthError(error) from None


class CloudFrontAuthError(HTTPException):
    """An auth error in CloudFront's shape: ``<ErrorResponse><Error>``."""

    def __init__(self, error: _RESTError) -> None:
        super().__init__()
        self.code = error.code
        body = {
            "ErrorResponse": {
                "@xmlns": "http://cloudfront.amazonaws.com/doc/2020-05-31/",
                "Error": {
                    "Type": "Sender",
                    "Code": error.error_type,
                    "Message": error.message,
                },
                "RequestId": "",
            }
        }
        self.description = xmltodict.unparse(body, full_document=True)


# IAM resources


def _patch_iam_resources() -> None:
    _replace(IamResponse, "_determine_resource", _iam_resource)


def _iam_resource(self: Any) -> str:
    """The user or policy ARN an IAM request acts on, as IAM authorizes it."""
    resource = _originals["IamResponse._determine_resource"](self)
    if resource != "*":
        return resource
    action = self._get_action()
    prefix = f"arn:{self.partition}:iam::{self.current_account}"

    user_name = _first(self.data, "UserName")
    if user_name is None and action in _IAM_SELF_ACTIONS:
        user_name = _caller_user_name(self)
    if user_name:
        return f"{prefix}:user{_user_path(self, action, user_name)}{user_name}"
    if action == "CreatePolicy":
        path = _first(self.data, "Path") or "/"
        return f"{prefix}:policy{path}{_first(self.data, 'PolicyName')}"
    if action in _IAM_POLICY_ACTIONS and _first(self.data, "PolicyArn"):
        return _first(self.data, "PolicyArn")
    if action == "ListUsers":
        return f"{prefix}:user/"
    return "*"


def _caller_user_name(self: Any) -> str | None:
    key = self.backend.access_keys.get(self.get_access_key())
    return key.user_name if key is not None else None


def _user_path(self: Any, action: str, user_name: str) -> str:
    if action == "CreateUser":
        return _first(self.data, "Path") or "/"
    user = self.backend.users.get(user_name)
    return user.path if user is not None else "/"


# Reset


def _patch_reset() -> None:
    _replace(MotoAPIBackend, "reset", _reset)


def _reset(self: Any) -> None:
    _originals["MotoAPIBackend.reset"](self)
    for hook in _reset_hooks:
        hook()
