"""Parse a policy document and find what IAM's ``create-policy`` would refuse.

``parse_policy`` never raises for a bad policy: syntax errors, refusals and
mistakes IAM accepts all become ``PolicyProblem`` records on the returned
``PolicyDocument``. A document with a refusing problem grants nothing.

A missing Version and Version 2008-10-17 are reported but not counted as
refusals, as the report contract asks, although create-policy refuses both
for managed policies. The values of Date and Numeric conditions and IAM's
rule that IAM resource paths start with ``user/``, ``role/`` and the like are
not checked.

Example:
    >>> document = parse_policy('{"Version": "2012-10-17", "Statement": []}')
    >>> [p.code for p in document.problems]
    ['missing_statement']
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.catalog import load_catalog

logger = logging.getLogger(__name__)

MAX_POLICY_SIZE = 6144
CURRENT_VERSION = "2012-10-17"
OLD_VERSION = "2008-10-17"
PARTITIONS = ("aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-eusc")
TOP_ELEMENTS = ("Version", "Id", "Statement")
STATEMENT_ELEMENTS = (
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
)
CONDITION_OPERATORS = (
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Null",
)
SYNTAX_ERRORS = "Syntax errors in policy."
LEGACY_PARSING = "The policy failed legacy parsing"
SID_ALPHABET = re.compile(r"[0-9A-Za-z]*")
VENDOR_ALPHABET = re.compile(r"[a-zA-Z0-9.\-]+")
SMART_QUOTES = "\u201c\u201d\u2018\u2019\u00ab\u00bb"


class PolicyParseError(ValueError):
    """The policy text is not a JSON object."""

    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(f"line {line}, column {column}: {message}")
        self.line = line
        self.column = column
        self.message = message


class PolicyFileError(OSError):
    """The policy file cannot be read as UTF-8 text."""


@dataclass(frozen=True)
class JsonError:
    """Where the JSON text breaks, and how."""

    line: int
    column: int
    message: str

    def to_dict(self) -> dict[str, Any]:
        """The error as the report's ``errors`` entry."""
        return {"line": self.line, "column": self.column, "message": self.message}


@dataclass(frozen=True)
class PolicyProblem:
    """One finding of parsing or validation.

    ``refuses`` says whether ``create-policy`` rejects the document for it;
    ``iam_message`` is IAM's own error text when it does.
    """

    code: str
    message: str
    statement: int | None = None
    sid: str | None = None
    value: str | None = None
    suggestion: str | None = None
    refuses: bool = True
    iam_message: str | None = None
    iam_error: str = "MalformedPolicyDocument"


@dataclass(frozen=True)
class Statement:
    """One statement, with its values normalised to tuples of strings."""

    index: int
    sid: str | None
    effect: str | None
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...]
    not_resource: bool
    conditional: bool

    @property
    def key(self) -> str | int:
        """The Sid when there is one, else the position in ``Statement``."""
        return self.sid if self.sid else self.index

    @property
    def label(self) -> str:
        """How messages name the statement."""
        return f"statement {self.sid}" if self.sid else f"Statement[{self.index}]"


@dataclass(frozen=True, eq=False)
class PolicyDocument:
    """A policy text, what it parsed to, and every problem found in it."""

    text: str
    data: Mapping[str, Any] | None
    statements: tuple[Statement, ...] = ()
    problems: tuple[PolicyProblem, ...] = ()
    errors: tuple[JsonError, ...] = ()
    version: str | None = None
    has_version: bool = False

    @property
    def parsed(self) -> bool:
        """Whether the text is a JSON object."""
        return self.data is not None

    @property
    def valid(self) -> bool:
        """Whether IAM would accept the document at ``create-policy``."""
        return self.parsed and not any(p.refuses for p in self.problems)

    @property
    def refusals(self) -> tuple[PolicyProblem, ...]:
        """The problems that make IAM refuse the document."""
        return tuple(p for p in self.problems if p.refuses)

    def codes(self) -> tuple[str, ...]:
        """The problem codes in order of discovery."""
        return tuple(p.code for p in self.problems)


class _JsonObject(dict):
    """A decoded JSON object that remembers keys it saw twice."""

    duplicates: tuple[str, ...] = ()


def _object_pairs(pairs: list[tuple[str, Any]]) -> _JsonObject:
    result = _JsonObject(pairs)
    seen: set[str] = set()
    twice = [key for key, _ in pairs if key in seen or seen.add(key)]
    if twice:
        result.duplicates = tuple(dict.fromkeys(twice))
    return result


def read_policy_file(path: str | Path) -> str:
    """The text of a policy file; raises PolicyFileError when unreadable."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as error:
        raise PolicyFileError(f"{path} does not exist") from error
    except OSError as error:
        raise PolicyFileError(f"{path} cannot be read: {error.strerror}") from error
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise PolicyFileError(
            f"{path} is not UTF-8 text (byte {error.start}); save it as UTF-8"
        ) from error


def decode_policy_json(text: str) -> dict[str, Any]:
    """The JSON object in ``text``; raises PolicyParseError with line and column."""
    try:
        data = json.loads(text, object_pairs_hook=_object_pairs)
    except json.JSONDecodeError as error:
        raise _parse_error(text, error) from error
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise PolicyParseError(1, 1, f"a policy is a JSON object {{...}}, not {kind}")
    return data


def _parse_error(text: str, error: json.JSONDecodeError) -> PolicyParseError:
    position = error.pos
    comma = _trailing_comma(text, position)
    if comma is not None:
        line, column = _line_column(text, comma)
        closer = text[position]
        message = f"trailing comma before '{closer}': delete this ','"
        return PolicyParseError(line, column, message)
    return PolicyParseError(error.lineno, error.colno, _explain(text, error))


def _trailing_comma(text: str, position: int) -> int | None:
    if position >= len(text) or text[position] not in "]}":
        return None
    before = len(text[:position].rstrip()) - 1
    return before if before >= 0 and text[before] == "," else None


def _line_column(text: str, position: int) -> tuple[int, int]:
    line = text.count("\n", 0, position) + 1
    return line, position - text.rfind("\n", 0, position)


def _explain(text: str, error: json.JSONDecodeError) -> str:
    found = text[error.pos] if error.pos < len(text) else ""
    if found and found in SMART_QUOTES:
        return f'{error.msg}: {_describe(found)}; use straight quotes "'
    if found == "'":
        return f"{error.msg}: JSON strings take double quotes, not single quotes"
    if text.startswith(("//", "/*"), error.pos):
        return f"{error.msg}: JSON has no comments; delete the comment"
    if found and _is_odd(found):
        return f"{error.msg}: {_describe(found)}, which JSON does not allow here"
    return error.msg


def _is_odd(char: str) -> bool:
    """True for a character that is invisible or not printable ASCII."""
    return not (" " <= char <= "~")


def _describe(char: str) -> str:
    name = unicodedata.name(char, "a control character")
    return f"U+{ord(char):04X} ({name})"


def policy_size(text: str) -> int:
    """The size IAM checks against its quota: characters, white space not counted."""
    return len(re.sub(r"\s", "", text))


def parse_policy(text: str) -> PolicyDocument:
    """Parse ``text`` and validate it as an identity-based policy."""
    problems: list[PolicyProblem] = list(_text_problems(text))
    body = text.removeprefix("\ufeff")
    try:
        data = decode_policy_json(body)
    except PolicyParseError as error:
        errors = (JsonError(error.line, error.column, error.message),)
        problems.append(
            PolicyProblem("malformed_json", error.message, iam_message=SYNTAX_ERRORS)
        )
        return PolicyDocument(text, None, problems=tuple(problems), errors=errors)
    return _validated(text, data, problems)


def compact_json(data: Mapping[str, Any]) -> str:
    """A decoded policy as JSON text without white space."""
    return json.dumps(data, separators=(",", ":"))


def policy_from_data(data: Mapping[str, Any]) -> PolicyDocument:
    """A document for an already decoded policy (sized as compact JSON)."""
    return parse_policy(compact_json(data))


def _validated(
    text: str, data: dict[str, Any], problems: list[PolicyProblem]
) -> PolicyDocument:
    problems.extend(_top_problems(data))
    raw = _raw_statements(data)
    statements = tuple(_statement(index, item) for index, item in enumerate(raw))
    for index, item in enumerate(raw):
        problems.extend(_statement_problems(index, item))
    problems.extend(_sid_duplicates(statements))
    problems.extend(_unknown_actions(statements, problems))
    version = data.get("Version")
    return PolicyDocument(
        text,
        data,
        statements=statements,
        problems=tuple(problems),
        version=version if isinstance(version, str) else None,
        has_version="Version" in data,
    )


def _text_problems(text: str) -> Iterator[PolicyProblem]:
    if text.startswith("\ufeff"):
        yield PolicyProblem(
            "invalid_character",
            "the text starts with an invisible byte order mark (U+FEFF)",
            value="\ufeff",
        )
    elif text[:1].isspace():
        yield PolicyProblem(
            "leading_whitespace",
            "white space before the opening '{'",
            iam_message=LEGACY_PARSING,
        )
    size = policy_size(text)
    if size > MAX_POLICY_SIZE:
        yield PolicyProblem(
            "policy_too_large",
            f"{size} characters without white space, over IAM's {MAX_POLICY_SIZE}",
            value=str(size),
            iam_message=f"Cannot exceed quota for PolicySize: {MAX_POLICY_SIZE}",
            iam_error="LimitExceeded",
        )


def _top_problems(data: dict[str, Any]) -> Iterator[PolicyProblem]:
    for key in data:
        if key not in TOP_ELEMENTS:
            yield _unknown_element(key, None, None, TOP_ELEMENTS)
    yield from _duplicate_keys(data, None, None)
    yield from _version_problems(data)
    if "Id" in data and not isinstance(data["Id"], str):
        yield _wrong_type("Id", "a string", None, None)
    yield from _statement_list_problems(data)


def _version_problems(data: dict[str, Any]) -> Iterator[PolicyProblem]:
    if "Version" not in data:
        yield _version_problem("missing_version", "the document has no Version", None)
        return
    version = data["Version"]
    if version == OLD_VERSION:
        yield _version_problem("version_2008", f"Version is {OLD_VERSION}", version)
    elif version != CURRENT_VERSION:
        yield PolicyProblem(
            "invalid_version",
            f"Version {json.dumps(version)} is not a policy language version",
            value=str(version),
            iam_message=SYNTAX_ERRORS,
        )


def _version_problem(code: str, message: str, value: str | None) -> PolicyProblem:
    return PolicyProblem(
        code,
        message,
        value=value,
        refuses=False,
        iam_message="Policy document must be version 2012-10-17 or greater.",
    )


def _statement_list_problems(data: dict[str, Any]) -> Iterator[PolicyProblem]:
    if "Statement" not in data:
        yield PolicyProblem(
            "missing_statement",
            "the document has no Statement",
            iam_message=SYNTAX_ERRORS,
        )
        return
    value = data["Statement"]
    if isinstance(value, list) and not value:
        yield PolicyProblem(
            "missing_statement", "Statement is an empty list", iam_message=SYNTAX_ERRORS
        )
    elif not isinstance(value, (list, dict)):
        yield _wrong_type("Statement", "an object or a list of objects", None, None)
    elif isinstance(value, list) and not all(isinstance(s, dict) for s in value):
        yield _wrong_type("Statement", "a list of objects", None, None)


def _raw_statements(data: dict[str, Any]) -> list[dict[str, Any]]:
    value = data.get("Statement")
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, dict)]
    return []


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(item for item in value if isinstance(item, str))
    return ()


def _statement(index: int, item: Mapping[str, Any]) -> Statement:
    sid = item.get("Sid")
    effect = item.get("Effect")
    condition = item.get("Condition")
    conditional = isinstance(condition, dict) and any(
        not isinstance(block, dict) or block for block in condition.values()
    )
    return Statement(
        index=index,
        sid=sid if isinstance(sid, str) and sid else None,
        effect=effect if effect in ("Allow", "Deny") else None,
        actions=_strings(item.get("Action", item.get("NotAction"))),
        not_action="Action" not in item and "NotAction" in item,
        resources=_strings(item.get("Resource", item.get("NotResource"))),
        not_resource="Resource" not in item and "NotResource" in item,
        conditional=conditional,
    )


def _statement_problems(index: int, item: Mapping[str, Any]) -> Iterator[PolicyProblem]:
    sid = item.get("Sid") if isinstance(item.get("Sid"), str) else None
    for key in item:
        if key not in STATEMENT_ELEMENTS:
            yield _unknown_element(key, index, sid, STATEMENT_ELEMENTS)
    yield from _duplicate_keys(item, index, sid)
    yield from _principal_problems(item, index, sid)
    yield from _sid_problems(item, index, sid)
    yield from _effect_problems(item, index, sid)
    yield from _action_problems(item, index, sid)
    yield from _resource_problems(item, index, sid)
    yield from _condition_problems(item, index, sid)


def _unknown_element(
    key: str, index: int | None, sid: str | None, known: tuple[str, ...]
) -> PolicyProblem:
    close = [name for name in known if name.lower() == key.lower().rstrip("s")]
    close = close or [name for name in known if name.lower() == key.lower()]
    return PolicyProblem(
        "unknown_element",
        f"{json.dumps(key)} is not an element IAM knows",
        statement=index,
        sid=sid,
        value=key,
        suggestion=close[0] if close else None,
        iam_message=SYNTAX_ERRORS,
    )


def _wrong_type(
    key: str, expected: str, index: int | None, sid: str | None
) -> PolicyProblem:
    return PolicyProblem(
        "invalid_element_type",
        f"{key} must be {expected}",
        statement=index,
        sid=sid,
        value=key,
        iam_message=SYNTAX_ERRORS,
    )


def _duplicate_keys(
    item: Mapping[str, Any], index: int | None, sid: str | None
) -> Iterator[PolicyProblem]:
    for key in getattr(item, "duplicates", ()):
        yield PolicyProblem(
            "duplicate_element",
            f"{key} appears twice; only the last one counts",
            statement=index,
            sid=sid,
            value=key,
            refuses=False,
        )


def _principal_problems(
    item: Mapping[str, Any], index: int, sid: str | None
) -> Iterator[PolicyProblem]:
    for key in ("Principal", "NotPrincipal"):
        if key in item:
            yield PolicyProblem(
                "principal_in_identity_policy",
                f"{key} in an identity-based policy",
                statement=index,
                sid=sid,
                value=key,
                iam_message="Policy document should not specify a principal.",
            )


def _sid_problems(
    item: Mapping[str, Any], index: int, sid: str | None
) -> Iterator[PolicyProblem]:
    if "Sid" not in item:
        return
    value = item["Sid"]
    if not isinstance(value, str):
        yield _wrong_type("Sid", "a string", index, None)
    elif not SID_ALPHABET.fullmatch(value):
        bad = sorted({c for c in value if not SID_ALPHABET.fullmatch(c)})
        shown = ", ".join(repr(c) for c in bad)
        yield PolicyProblem(
            "invalid_sid",
            f"Sid {json.dumps(value)} contains {shown}",
            statement=index,
            sid=sid,
            value=value,
            suggestion=re.sub(r"[^0-9A-Za-z]", "", value) or None,
            iam_message=(
                "Statement IDs (SID) must be alpha-numeric. Check that your input "
                "satisfies the regular expression [0-9A-Za-z]*"
            ),
        )


def _sid_duplicates(statements: tuple[Statement, ...]) -> Iterator[PolicyProblem]:
    seen: set[str] = set()
    for statement in statements:
        if statement.sid is None:
            continue
        if statement.sid in seen:
            yield PolicyProblem(
                "duplicate_sid",
                f"Sid {statement.sid} is used by more than one statement",
                statement=statement.index,
                sid=statement.sid,
                value=statement.sid,
                iam_message="Statement IDs (SID) in a single policy must be unique.",
            )
        seen.add(statement.sid)


def _effect_problems(
    item: Mapping[str, Any], index: int, sid: str | None
) -> Iterator[PolicyProblem]:
    if "Effect" not in item:
        yield PolicyProblem(
            "missing_effect",
            "no Effect",
            statement=index,
            sid=sid,
            iam_message=SYNTAX_ERRORS,
        )
        return
    effect = item["Effect"]
    if effect in ("Allow", "Deny"):
        return
    folded = effect.capitalize() if isinstance(effect, str) else None
    legacy = folded in ("Allow", "Deny")
    yield PolicyProblem(
        "invalid_effect",
        f'Effect {json.dumps(effect)} is neither "Allow" nor "Deny"',
        statement=index,
        sid=sid,
        value=json.dumps(effect),
        suggestion=folded if legacy else None,
        iam_message=LEGACY_PARSING if legacy else SYNTAX_ERRORS,
    )


def _string_list_problems(
    item: Mapping[str, Any], key: str, index: int, sid: str | None
) -> Iterator[PolicyProblem]:
    value = item[key]
    if isinstance(value, str):
        return
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        yield _wrong_type(key, "a string or a list of strings", index, sid)


def _pair_problems(
    item: Mapping[str, Any],
    names: tuple[str, str],
    code: str,
    index: int,
    sid: str | None,
) -> Iterator[PolicyProblem]:
    present = [name for name in names if name in item]
    if len(present) == 2:
        yield PolicyProblem(
            "conflicting_elements",
            f"both {names[0]} and {names[1]}",
            statement=index,
            sid=sid,
            value=names[1],
            iam_message=SYNTAX_ERRORS,
        )
    empty = present and isinstance(item[present[0]], list) and not item[present[0]]
    if not present or empty:
        noun = "actions" if code == "missing_action_element" else "resources"
        yield PolicyProblem(
            code,
            f"neither {names[0]} nor {names[1]}"
            if not present
            else f"{present[0]} is empty",
            statement=index,
            sid=sid,
            iam_message=f"Policy statement must contain {noun}.",
        )
    for name in present:
        yield from _string_list_problems(item, name, index, sid)


def _action_problems(
    item: Mapping[str, Any], index: int, sid: str | None
) -> Iterator[PolicyProblem]:
    yield from _pair_problems(
        item, ("Action", "NotAction"), "missing_action_element", index, sid
    )
    for action in _strings(item.get("Action", item.get("NotAction"))):
        yield from _action_value_problems(action, index, sid)


def _action_value_problems(
    action: str, index: int, sid: str | None
) -> Iterator[PolicyProblem]:
    odd = _odd_character(action)
    if odd is not None:
        yield _invalid_character(action, odd, "action", index, sid)
        return
    if action == "*":
        return
    parts = action.split(":")
    message = None
    if len(parts) == 1:
        message = (
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
        )
    elif len(parts) > 2:
        message = "Actions/Condition can contain only one colon."
    elif parts[0] != "*" and not VENDOR_ALPHABET.fullmatch(parts[0]):
        message = f"Vendor {parts[0]} is not valid"
    if message is not None:
        yield PolicyProblem(
            "invalid_action_format",
            f"{json.dumps(action)} is not service:action",
            statement=index,
            sid=sid,
            value=action,
            suggestion=load_catalog().suggest(action),
            iam_message=message,
        )


def _odd_character(value: str) -> str | None:
    return next((c for c in value if _is_odd(c) or c.isspace()), None)


def _invalid_character(
    value: str, char: str, kind: str, index: int, sid: str | None
) -> PolicyProblem:
    cleaned = "".join(c for c in value if not (_is_odd(c) or c.isspace()))
    where = value.index(char) + 1
    return PolicyProblem(
        "invalid_character",
        f"the {kind} {json.dumps(value)} contains {_describe(char)} "
        f"at character {where}",
        statement=index,
        sid=sid,
        value=value,
        suggestion=cleaned or None,
    )


def _resource_problems(
    item: Mapping[str, Any], index: int, sid: str | None
) -> Iterator[PolicyProblem]:
    yield from _pair_problems(
        item, ("Resource", "NotResource"), "missing_resource", index, sid
    )
    for resource in _strings(item.get("Resource", item.get("NotResource"))):
        yield from _resource_value_problems(resource, index, sid)


def _resource_value_problems(
    resource: str, index: int, sid: str | None
) -> Iterator[PolicyProblem]:
    odd = _odd_character(resource)
    if odd is not None:
        yield _invalid_character(resource, odd, "resource", index, sid)
        return
    if resource == "*":
        return
    message = _arn_format_message(resource)
    if message is not None:
        yield PolicyProblem(
            "resource_not_arn",
            f'{json.dumps(resource)} is neither an ARN nor "*"',
            statement=index,
            sid=sid,
            value=resource,
            iam_message=message,
        )
        return
    yield from _region_problems(resource, index, sid)


def _arn_format_message(resource: str) -> str | None:
    parts = resource.split(":")
    if len(parts) < 2:
        return f'Resource {resource} must be in ARN format or "*".'
    partition = parts[1]
    if partition != "*" and partition not in PARTITIONS:
        rest = (parts[2:] + ["*"] * 4)[:4]
        shown = ":".join(["arn", partition, *rest])
        return f'Partition "{partition}" is not valid for resource "{shown}".'
    if len(parts) < 3:
        return "Resource vendor must be fully qualified and cannot contain regexes."
    if (resource.count(":") < 5 and "::" in resource) or parts[2] == "":
        return LEGACY_PARSING
    return None


def _region_problems(
    resource: str, index: int, sid: str | None
) -> Iterator[PolicyProblem]:
    parts = resource.split(":", 5)
    if len(parts) < 4 or parts[3] == "":
        return
    service, rest = parts[2], parts[5] if len(parts) > 5 else ""
    if service == "s3" and not rest.startswith("accesspoint/"):
        code, text = (
            "s3_arn_has_region",
            "Resource {} can not contain region information.",
        )
    elif service == "iam":
        code, text = (
            "iam_arn_has_region",
            "IAM resource {} cannot contain region information.",
        )
    else:
        return
    yield PolicyProblem(
        code,
        f"the {service} ARN {resource} has region {parts[3]!r}",
        statement=index,
        sid=sid,
        value=resource,
        iam_message=text.format(resource),
    )


def _condition_problems(
    item: Mapping[str, Any], index: int, sid: str | None
) -> Iterator[PolicyProblem]:
    if "Condition" not in item:
        return
    condition = item["Condition"]
    if not isinstance(condition, dict):
        yield _wrong_type("Condition", "an object", index, sid)
        return
    for operator, block in condition.items():
        if not isinstance(block, dict):
            yield _condition_problem(
                operator, "must map condition keys to values", index, sid
            )
        elif block and _base_operator(operator) not in CONDITION_OPERATORS:
            yield _condition_problem(
                operator, "is not a condition operator", index, sid
            )
        elif any(
            not isinstance(v, (str, bool, int, float, list)) for v in block.values()
        ):
            yield _condition_problem(
                operator, "has a value that is not a string or list", index, sid
            )


def _condition_problem(
    operator: str, what: str, index: int, sid: str | None
) -> PolicyProblem:
    return PolicyProblem(
        "invalid_condition",
        f"Condition operator {json.dumps(operator)} {what}",
        statement=index,
        sid=sid,
        value=operator,
        iam_message=SYNTAX_ERRORS,
    )


def _base_operator(operator: str) -> str:
    for prefix in ("ForAnyValue:", "ForAllValues:"):
        operator = operator.removeprefix(prefix)
    return operator.removesuffix("IfExists")


def _unknown_actions(
    statements: tuple[Statement, ...], problems: list[PolicyProblem]
) -> Iterator[PolicyProblem]:
    flawed = {
        p.value
        for p in problems
        if p.code in ("invalid_action_format", "invalid_character")
    }
    catalog = load_catalog()
    for statement in statements:
        for action in statement.actions:
            if action == "*" or action in flawed or catalog.matching(action):
                continue
            yield PolicyProblem(
                "misspelled_action",
                f"no AWS service has an action {action}",
                statement=statement.index,
                sid=statement.sid,
                value=action,
                suggestion=catalog.suggest(action),
                refuses=False,
            )
