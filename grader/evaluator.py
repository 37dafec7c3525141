"""What an identity-based policy allows: one request at a time, and exactly.

``evaluate_request`` decides one request the way IAM does and is fast enough
for the lab's emulator. ``check_actions`` and ``check_scope`` decide, over
every action in the catalogue and every possible resource string, whether a
policy allows exactly an intended set of requests, and give concrete
witnesses when it does not. Resource sets are regular languages; questions
that simple reasoning cannot settle go to z3's string and regex theory.

Covered:
- ``Allow`` and ``Deny``; an explicit Deny beats any Allow, no Allow is an
  implicit deny; several policies combine as one set of statements.
- ``Action`` / ``NotAction`` and ``Resource`` / ``NotResource`` (complements).
- ``*`` and ``?`` as the only wildcards, both crossing ``/`` and ``:``;
  every other character literal. Actions match case-insensitively (ASCII
  letters), resources case-sensitively.
- ``Condition`` as two truth values: a request is *possible* when some Allow
  matches, conditional or not, and no unconditional Deny does; it is
  *guaranteed* when an unconditional Allow matches and no Deny does.
- Policy variables under Version 2012-10-17: ``${*}``, ``${?}`` and ``${$}``
  stand for the literal character; any other variable matches any run of
  characters and makes its statement conditional.
- Requests as the catalogue defines them: an action against the ARNs of the
  resource types it is authorized against, or against ``*`` when it has no
  resource-level support; names follow ``catalog.NAME_RULES``.

Not covered:
- Condition keys are not evaluated against a request context.
- Resource-based policies, permission boundaries, SCPs and session policies.
- Requests that need two resources at once (CopyObject) or dependent actions.
- Partitions other than ``aws``; object keys are not limited to 1,024 bytes.
"""

from __future__ import annotations

import enum
import functools
import itertools
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import z3

from grader.catalog import (
    NO_RESOURCE,
    Action,
    NamePart,
    Variable,
    load_catalog,
    wildcard_regex,
)
from grader.policy import (
    CURRENT_VERSION,
    PolicyDocument,
    Statement,
    compact_json,
    parse_policy,
)

logger = logging.getLogger(__name__)

SOLVER_TIMEOUT_MS = 20_000
REPRESENTATIVES = 4
READABLE_RANGES = (("a", "z"), ("A", "Z"), ("0", "9"))
READABLE_SINGLES = "-._/:"


class AnalysisInconclusive(RuntimeError):
    """The solver gave no answer within its time limit."""


class Wild(enum.Enum):
    """A wildcard in a pattern."""

    STAR = "*"
    ONE = "?"


Token = str | Wild
Glob = tuple[Token, ...]
STAR_GLOB: Glob = (Wild.STAR,)
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}


# Patterns -------------------------------------------------------------------


def _wild_tokens(text: str) -> Iterator[Token]:
    for piece in re.split(r"([*?])", text):
        if piece == "*":
            yield Wild.STAR
        elif piece == "?":
            yield Wild.ONE
        elif piece:
            yield piece


@functools.lru_cache(maxsize=16384)
def resource_glob(pattern: str, variables: bool = False) -> tuple[Glob, bool]:
    """A Resource pattern as tokens, and whether it holds a policy variable."""
    if not variables or "${" not in pattern:
        return _join(_wild_tokens(pattern)), False
    tokens: list[Token] = []
    position, conditional = 0, False
    for match in _VARIABLE.finditer(pattern):
        tokens.extend(_wild_tokens(pattern[position : match.start()]))
        name = match.group(1)
        if name in _ESCAPES:
            tokens.append(_ESCAPES[name])
        else:
            tokens.append(Wild.STAR)
            conditional = True
        position = match.end()
    tokens.extend(_wild_tokens(pattern[position:]))
    return _join(tokens), conditional


def _join(tokens: Iterable[Token]) -> Glob:
    joined: list[Token] = []
    for token in tokens:
        if isinstance(token, str) and joined and isinstance(joined[-1], str):
            joined[-1] += token
        elif not (token is Wild.STAR and joined and joined[-1] is Wild.STAR):
            joined.append(token)
    return tuple(joined)


@functools.lru_cache(maxsize=16384)
def glob_regex(glob: Glob) -> re.Pattern[str]:
    """The glob as a compiled regex, for ``fullmatch``."""
    body = "".join(
        ".*" if t is Wild.STAR else "." if t is Wild.ONE else re.escape(t) for t in glob
    )
    return re.compile(body, re.DOTALL)


def glob_text(glob: Glob) -> str:
    """The glob written as a pattern again."""
    return "".join(t.value if isinstance(t, Wild) else t for t in glob)


def _glob_key(glob: Glob) -> tuple[tuple[int, str], ...]:
    return tuple((1, t.value) if isinstance(t, Wild) else (0, t) for t in glob)


def is_literal(glob: Glob) -> bool:
    """Whether the glob names exactly one string."""
    return all(isinstance(t, str) for t in glob)


@functools.lru_cache(maxsize=16384)
def covers(wide: Glob, narrow: Glob) -> bool:
    """A sufficient test that every string ``narrow`` matches, ``wide`` matches."""
    marks = {Wild.STAR: "\ue000", Wild.ONE: "\ue001"}
    text = "".join(marks[t] if isinstance(t, Wild) else t for t in narrow)
    if any(c in t for t in narrow if isinstance(t, str) for c in marks.values()):
        return wide == narrow
    body = "".join(
        ".*" if t is Wild.STAR else "[^\ue000]" if t is Wild.ONE else re.escape(t)
        for t in wide
    )
    return re.fullmatch(body, text, re.DOTALL) is not None


# Compiled policies ----------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """The resource part of a statement: patterns, or their complement."""

    negated: bool
    globs: tuple[Glob, ...]

    def matches(self, resource: str) -> bool:
        """Whether the statement's resource part matches ``resource``."""
        hit = any(glob_regex(g).fullmatch(resource) for g in self.globs)
        return hit != self.negated

    def describe(self) -> str:
        """The spec in policy terms, for logs."""
        name = "NotResource" if self.negated else "Resource"
        return f"{name} {[glob_text(g) for g in self.globs]}"


@dataclass(frozen=True)
class Rule:
    """One valid statement, compiled for matching."""

    index: int
    sid: str | None
    allow: bool
    conditional: bool
    actions: tuple[str, ...]
    not_action: bool
    spec: Spec

    @property
    def key(self) -> str | int:
        """The Sid when there is one, else the statement's position."""
        return self.sid if self.sid else self.index

    def matches_action(self, action: str) -> bool:
        """Whether the statement's action part matches ``action``."""
        hit = any(wildcard_regex(p, True).fullmatch(action) for p in self.actions)
        return hit != self.not_action

    def matches(self, action: str, resource: str) -> bool:
        """Whether the statement applies to the request."""
        return self.matches_action(action) and self.spec.matches(resource)


@dataclass(frozen=True)
class CompiledPolicy:
    """A policy's statements ready for matching; empty when IAM refuses it."""

    rules: tuple[Rule, ...]
    grants: bool


def _rule(statement: Statement, variables: bool) -> Rule:
    globs, conditional = [], statement.conditional
    for pattern in statement.resources:
        glob, has_variable = resource_glob(pattern, variables)
        globs.append(glob)
        conditional = conditional or has_variable
    return Rule(
        index=statement.index,
        sid=statement.sid,
        allow=statement.effect == "Allow",
        conditional=conditional,
        actions=statement.actions,
        not_action=statement.not_action,
        spec=Spec(statement.not_resource, tuple(globs)),
    )


def compile_policy(document: PolicyDocument) -> CompiledPolicy:
    """Compile a parsed document; a document IAM refuses grants nothing."""
    if not document.valid:
        return CompiledPolicy((), False)
    variables = document.version == CURRENT_VERSION
    rules = tuple(_rule(s, variables) for s in document.statements)
    return CompiledPolicy(rules, True)


@functools.lru_cache(maxsize=1024)
def _compiled_text(text: str) -> CompiledPolicy:
    return compile_policy(parse_policy(text))


PolicySource = PolicyDocument | Mapping | str | CompiledPolicy


def policy_for(source: PolicySource) -> CompiledPolicy:
    """The compiled form of a document, a decoded policy or a policy text."""
    if isinstance(source, CompiledPolicy):
        return source
    if isinstance(source, PolicyDocument):
        return _compiled_text(source.text)
    if isinstance(source, str):
        return _compiled_text(source)
    return _compiled_text(compact_json(source))


# One request ----------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """IAM's answer to one request.

    ``allowed`` holds whatever the conditions say; ``possible`` holds when the
    conditions of the deciding statements hold. ``conditional`` says the
    answer depends on a Condition; ``statement`` is the Sid or index of the
    deciding statement, None for an implicit deny.
    """

    action: str
    resource: str
    allowed: bool
    explicit_deny: bool
    statement: str | int | None
    conditional: bool
    possible: bool

    def message(self, principal_arn: str) -> str:
        """The denial in IAM's words, as in an AccessDenied error."""
        if self.allowed:
            raise ValueError(f"{self.action} on {self.resource} is allowed")
        start = (
            f"User: {principal_arn} is not authorized to perform: {self.action} "
            f"on resource: {self.resource}"
        )
        if self.explicit_deny:
            return f"{start} with an explicit deny in an identity-based policy"
        return (
            f"{start} because no identity-based policy allows the {self.action} action"
        )

    def aws_error(self, principal_arn: str, operation: str) -> str:
        """The error line the AWS CLI prints for this denial.

        S3 answers with its short ``Access Denied``; other services with the
        full IAM message.
        """
        service = self.action.partition(":")[0].lower()
        text = "Access Denied" if service == "s3" else self.message(principal_arn)
        return (
            f"An error occurred (AccessDenied) when calling the {operation} "
            f"operation: {text}"
        )


def decide(rules: Sequence[Rule], action: str, resource: str) -> Decision:
    """Decide one request against compiled statements."""
    matched = [rule for rule in rules if rule.matches(action, resource)]
    hard_deny = _first(matched, allow=False, conditional=False)
    if hard_deny is not None:
        return Decision(action, resource, False, True, hard_deny.key, False, False)
    soft_deny = _first(matched, allow=False, conditional=True)
    hard_allow = _first(matched, allow=True, conditional=False)
    if hard_allow is not None and soft_deny is None:
        return Decision(action, resource, True, False, hard_allow.key, False, True)
    if hard_allow is not None:
        return Decision(action, resource, False, False, soft_deny.key, True, True)
    soft_allow = _first(matched, allow=True, conditional=True)
    if soft_allow is not None:
        return Decision(action, resource, False, False, soft_allow.key, True, True)
    return Decision(action, resource, False, False, None, False, False)


def _first(rules: Iterable[Rule], allow: bool, conditional: bool) -> Rule | None:
    return next(
        (r for r in rules if r.allow == allow and r.conditional == conditional), None
    )


def evaluate_request(
    documents: Iterable[PolicySource], action: str, resource: str
) -> Decision:
    """Decide ``action`` on ``resource`` under all of ``documents`` together.

    Example:
        >>> policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        ...     "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*"}]}
        >>> evaluate_request([policy], "S3:putobject", "arn:aws:s3:::b/k").allowed
        True
    """
    rules = [rule for source in documents for rule in policy_for(source).rules]
    return decide(rules, action, resource)


# Resource languages ---------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """The statements that apply to one action, by effect and condition."""

    allow: tuple[Spec, ...] = ()
    maybe_allow: tuple[Spec, ...] = ()
    deny: tuple[Spec, ...] = ()
    maybe_deny: tuple[Spec, ...] = ()

    def possible(self, resource: str) -> bool:
        """Some Allow matches and no unconditional Deny does."""
        allowed = any(s.matches(resource) for s in self.allow + self.maybe_allow)
        return allowed and not any(s.matches(resource) for s in self.deny)

    def guaranteed(self, resource: str) -> bool:
        """An unconditional Allow matches and no Deny does."""
        denies = self.deny + self.maybe_deny
        allowed = any(s.matches(resource) for s in self.allow)
        return allowed and not any(s.matches(resource) for s in denies)

    @property
    def allows(self) -> tuple[Spec, ...]:
        """Every Allow spec, conditional or not."""
        return self.allow + self.maybe_allow

    @property
    def denies(self) -> tuple[Spec, ...]:
        """Every Deny spec, conditional or not."""
        return self.deny + self.maybe_deny


def _spec_key(spec: Spec) -> tuple:
    return (spec.negated, tuple(_glob_key(g) for g in spec.globs))


def _canonical(specs: Iterable[Spec]) -> tuple[Spec, ...]:
    return tuple(sorted(set(specs), key=_spec_key))


def profile_of(rules: Iterable[Rule]) -> Profile:
    """Group the specs of statements that apply to one action."""
    groups: dict[tuple[bool, bool], list[Spec]] = {}
    for rule in rules:
        groups.setdefault((rule.allow, rule.conditional), []).append(rule.spec)
    return Profile(
        allow=_canonical(groups.get((True, False), ())),
        maybe_allow=_canonical(groups.get((True, True), ())),
        deny=_canonical(groups.get((False, False), ())),
        maybe_deny=_canonical(groups.get((False, True), ())),
    )


TypeSet = tuple[str, ...] | None
"""Resource type keys (``"*"`` for the literal ``*``), or None for any string."""


def in_types(resource: str, typeset: TypeSet) -> bool:
    """Whether ``resource`` is of one of the types (any string for None)."""
    if typeset is None:
        return True
    types = load_catalog().resource_types
    return any(
        resource == NO_RESOURCE if key == NO_RESOURCE else types[key].contains(resource)
        for key in typeset
    )


def _intended(resource: str, typeset: TypeSet, intended: tuple[Glob, ...]) -> bool:
    hit = any(glob_regex(g).fullmatch(resource) for g in intended)
    return hit and in_types(resource, typeset)


def typeset_of(action: Action) -> tuple[str, ...]:
    """The resource types an action's requests name."""
    return action.resource_types or (NO_RESOURCE,)


# Candidate witnesses --------------------------------------------------------

_STAR_FILLERS = ("", "index.html", "-prod", "EDFDVBD6EXAMPLE", "x")
_ONE_FILLERS = ("x", "1", "X")
_DEFAULT_VALUES: Mapping[str, tuple[str, ...]] = {
    "Account": ("111122223333",),
    "Region": ("us-east-1", "eu-west-1"),
    "BucketName": ("amzn-s3-demo-bucket",),
    "ObjectName": ("index.html", "assets/app.js"),
    "DistributionId": ("EDFDVBD6EXAMPLE",),
}
_CANDIDATE_LIMIT = 64


def _instances(glob: Glob) -> Iterator[str]:
    slots = [i for i, t in enumerate(glob) if isinstance(t, Wild)]
    varied = slots[:3]
    choices = [_STAR_FILLERS if glob[i] is Wild.STAR else _ONE_FILLERS for i in varied]
    for picked in itertools.islice(itertools.product(*choices), _CANDIDATE_LIMIT):
        fill = dict(zip(varied, picked, strict=True))
        yield "".join(
            t if isinstance(t, str) else fill.get(i, "" if t is Wild.STAR else "x")
            for i, t in enumerate(glob)
        )


def _hint_values(name: str, hints: tuple[str, ...]) -> list[str]:
    types = load_catalog().resource_types.values()
    found: list[str] = []
    for hint in hints:
        parts = hint.split(":")
        if name == "Account" and len(parts) > 4 and parts[4]:
            found.append(parts[4])
        elif name == "Region" and len(parts) > 3 and parts[3]:
            found.append(parts[3])
    for kind in types if name not in ("Account", "Region") else ():
        if name in kind.variables():
            found.extend(f[name] for h in hints if (f := kind.fields(h)) and name in f)
    return found


@functools.lru_cache(maxsize=4096)
def _slot_values(name: str, hints: tuple[str, ...]) -> tuple[str, ...]:
    seen = _hint_values(name, hints)
    variants = [f"{v}-prod" for v in seen if name not in ("Account", "Region")]
    defaults = _DEFAULT_VALUES.get(name, ("example",))
    return tuple(dict.fromkeys([*seen, *variants, *defaults]))


def _template_candidates(typeset: TypeSet, hints: tuple[str, ...]) -> Iterator[str]:
    if typeset is None:
        return
    types = load_catalog().resource_types
    for key in sorted(typeset, key=lambda k: not _fits_hint(k, hints)):
        if key == NO_RESOURCE:
            yield NO_RESOURCE
            continue
        segments = types[key].segments
        slots = [s for s in segments if isinstance(s, Variable)]
        pools = [_slot_values(s.name, hints) for s in slots]
        for values in itertools.islice(itertools.product(*pools), _CANDIDATE_LIMIT):
            filled = iter(values)
            yield "".join(s if isinstance(s, str) else next(filled) for s in segments)


def _beautified(
    witness: str | None,
    typeset: TypeSet,
    hints: tuple[str, ...],
    keep: Callable[[str], bool],
) -> str | None:
    """The witness with each ARN slot swapped for a readable value that keeps it."""
    if witness is None or typeset is None:
        return witness
    types = load_catalog().resource_types
    for key in typeset:
        kind = types.get(key)
        fields = kind.fields(witness) if kind else None
        if fields is None:
            continue
        for name in list(fields):
            for value in _slot_values(name, hints):
                trial = kind.arn_from({**fields, name: value})
                if kind.contains(trial) and keep(trial):
                    fields[name] = value
                    break
        return kind.arn_from(fields)
    return witness


def _fits_hint(key: str, hints: tuple[str, ...]) -> bool:
    if key == NO_RESOURCE:
        return NO_RESOURCE in hints
    kind = load_catalog().resource_types[key]
    return any(kind.contains(hint) for hint in hints)


def _globs(specs: Iterable[Spec]) -> list[Glob]:
    return [g for spec in specs for g in spec.globs]


# Solver ---------------------------------------------------------------------

_RE = z3.ReSort(z3.StringSort())


@functools.cache
def _any_char() -> z3.ReRef:
    return z3.AllChar(_RE)


def _z3_glob(glob: Glob) -> z3.ReRef:
    parts = [
        z3.Star(_any_char())
        if t is Wild.STAR
        else _any_char()
        if t is Wild.ONE
        else z3.Re(z3.StringVal(t))
        for t in glob
    ]
    if not parts:
        return z3.Re(z3.StringVal(""))
    return parts[0] if len(parts) == 1 else z3.Concat(*parts)


def _z3_union(items: Sequence[z3.ReRef]) -> z3.ReRef:
    if not items:
        return z3.Empty(_RE)
    return items[0] if len(items) == 1 else z3.Union(*items)


def _z3_spec(spec: Spec) -> z3.ReRef:
    matched = _z3_union([_z3_glob(g) for g in spec.globs])
    return z3.Complement(matched) if spec.negated else matched


def _z3_specs(specs: Iterable[Spec]) -> z3.ReRef:
    return _z3_union([_z3_spec(s) for s in specs])


def _z3_chars(part: NamePart) -> z3.ReRef:
    if part.ranges is None:
        if not part.excluded:
            return _any_char()
        banned = _z3_union([z3.Re(z3.StringVal(c)) for c in part.excluded])
        return z3.Intersect(_any_char(), z3.Complement(banned))
    return _z3_union([z3.Range(low, high) for low, high in part.ranges])


def _z3_part(part: NamePart) -> z3.ReRef:
    chars = _z3_chars(part)
    if part.max_length is not None:
        if part.min_length == part.max_length == 1:
            return chars
        return z3.Loop(chars, part.min_length, part.max_length)
    if part.min_length == 0:
        return z3.Star(chars)
    if part.min_length == 1:
        return z3.Plus(chars)
    return z3.Concat(z3.Loop(chars, part.min_length, part.min_length), z3.Star(chars))


@functools.lru_cache(maxsize=1024)
def _z3_type(key: str) -> z3.ReRef:
    if key == NO_RESOURCE:
        return z3.Re(z3.StringVal(NO_RESOURCE))
    pieces: list[z3.ReRef] = []
    for segment in load_catalog().resource_types[key].segments:
        if isinstance(segment, str):
            pieces.append(z3.Re(z3.StringVal(segment)))
        else:
            pieces.extend(_z3_part(part) for part in segment.parts)
    return pieces[0] if len(pieces) == 1 else z3.Concat(*pieces)


def _z3_typeset(typeset: TypeSet) -> z3.ReRef:
    if typeset is None:
        return z3.Full(_RE)
    return _z3_union([_z3_type(key) for key in typeset])


def _z3_possible(profile: Profile) -> z3.ReRef:
    return z3.Intersect(
        _z3_specs(profile.allows), z3.Complement(_z3_specs(profile.deny))
    )


def _z3_guaranteed(profile: Profile) -> z3.ReRef:
    return z3.Intersect(
        _z3_specs(profile.allow), z3.Complement(_z3_specs(profile.denies))
    )


def _z3_intended(typeset: TypeSet, intended: tuple[Glob, ...]) -> z3.ReRef:
    globs = _z3_union([_z3_glob(g) for g in intended])
    return z3.Intersect(_z3_typeset(typeset), globs)


@functools.cache
def _readable() -> z3.ReRef:
    ranges = [z3.Range(low, high) for low, high in READABLE_RANGES]
    singles = [z3.Re(z3.StringVal(c)) for c in READABLE_SINGLES]
    return z3.Star(_z3_union(ranges + singles))


def solve(language: z3.ReRef) -> str | None:
    """A string of ``language``, readable when one exists; None when empty."""
    solver = z3.Solver()
    solver.set("timeout", SOLVER_TIMEOUT_MS)
    resource = z3.String("resource")
    solver.add(z3.InRe(resource, language))
    answer = solver.check()
    if answer == z3.unsat:
        return None
    if answer != z3.sat:
        raise AnalysisInconclusive(solver.reason_unknown())
    first = _model_string(solver.model()[resource])
    solver.add(z3.InRe(resource, _readable()))
    if solver.check() == z3.sat:
        return _model_string(solver.model()[resource])
    return first


def _model_string(value: z3.SeqRef) -> str:
    text = value.as_string()
    return re.sub(r"\\u\{([0-9a-fA-F]+)\}", lambda m: chr(int(m.group(1), 16)), text)


# Questions ------------------------------------------------------------------


def _denies_all(specs: Iterable[Spec]) -> bool:
    return any(not s.negated and STAR_GLOB in s.globs for s in specs)


@functools.lru_cache(maxsize=65536)
def find_allowed(
    profile: Profile,
    typeset: TypeSet,
    intended: tuple[Glob, ...],
    hints: tuple[str, ...],
    prove: bool = True,
) -> str | None:
    """A resource of ``typeset`` outside ``intended`` the profile may allow.

    With ``prove`` false only candidate witnesses are tried, and None means
    "none found", not "none exists".
    """
    if not profile.allows or _denies_all(profile.deny):
        return None
    candidates = itertools.chain(
        hints,
        _template_candidates(typeset, hints),
        *(_instances(g) for g in _globs(profile.allows)),
    )
    for resource in candidates:
        if (
            in_types(resource, typeset)
            and profile.possible(resource)
            and not _intended(resource, typeset, intended)
        ):
            return resource
    if not prove or _allows_within(profile, intended):
        return None
    language = z3.Intersect(
        _z3_typeset(typeset),
        _z3_possible(profile),
        z3.Complement(_z3_intended(typeset, intended)),
    )

    def keep(resource: str) -> bool:
        return profile.possible(resource) and not _intended(resource, typeset, intended)

    witness = _beautified(solve(language), typeset, hints, keep)
    return _checked(witness, "allowed", profile)


def _allows_within(profile: Profile, intended: tuple[Glob, ...]) -> bool:
    """Every Allow pattern is literal (already tried) or inside the intent."""
    if any(spec.negated for spec in profile.allows):
        return False
    return all(
        is_literal(g) or any(covers(q, g) for q in intended)
        for g in _globs(profile.allows)
    )


@functools.lru_cache(maxsize=65536)
def find_missing(
    profile: Profile,
    typeset: TypeSet,
    intended: tuple[Glob, ...],
    hints: tuple[str, ...],
) -> str | None:
    """A resource in ``intended`` (and ``typeset``) the profile does not guarantee."""
    candidates = itertools.chain(
        hints,
        _template_candidates(typeset, hints),
        *(_instances(g) for g in intended),
        *(_instances(g) for g in _globs(profile.denies)),
    )
    for resource in candidates:
        if _intended(resource, typeset, intended) and not profile.guaranteed(resource):
            return resource
    if _guarantees_intent(profile, intended):
        return None
    language = z3.Intersect(
        _z3_intended(typeset, intended), z3.Complement(_z3_guaranteed(profile))
    )

    def keep(resource: str) -> bool:
        return _intended(resource, typeset, intended) and not profile.guaranteed(
            resource
        )

    witness = _beautified(solve(language), typeset, hints, keep)
    return _checked(witness, "missing", profile)


def _guarantees_intent(profile: Profile, intended: tuple[Glob, ...]) -> bool:
    """Every wildcard intent is covered and every Deny is a tried literal."""
    wide = _globs(s for s in profile.allow if not s.negated)
    covered = all(is_literal(q) or any(covers(p, q) for p in wide) for q in intended)
    finite_denies = all(
        not s.negated and all(is_literal(g) for g in s.globs) for s in profile.denies
    )
    return covered and finite_denies


@functools.lru_cache(maxsize=65536)
def find_granted(
    profile: Profile, typeset: TypeSet, hints: tuple[str, ...]
) -> str | None:
    """A resource of ``typeset`` the profile guarantees, or None if there is none."""
    if not profile.allow or _denies_all(profile.denies):
        return None
    candidates = itertools.chain(
        *(_instances(g) for g in _globs(profile.allow)),
        hints,
        _template_candidates(typeset, hints),
    )
    for resource in candidates:
        if in_types(resource, typeset) and profile.guaranteed(resource):
            return resource
    language = z3.Intersect(_z3_typeset(typeset), _z3_guaranteed(profile))
    witness = _beautified(solve(language), typeset, hints, profile.guaranteed)
    return _checked(witness, "granted", profile)


def _checked(witness: str | None, question: str, profile: Profile) -> str | None:
    if witness is not None:
        logger.debug("solver found %s witness %r for %s", question, witness, profile)
    return witness


def clear_caches() -> None:
    """Forget every memoized answer (the catalogue stays loaded)."""
    for cached in (find_allowed, find_missing, find_granted, _compiled_text):
        cached.cache_clear()


# Exact checks ---------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One request: an action on a resource."""

    action: str
    resource: str

    def to_list(self) -> list[str]:
        """The request as the report writes it."""
        return [self.action, self.resource]


@dataclass(frozen=True)
class Intent:
    """The requests a policy must allow, and nothing beyond them.

    ``required`` maps each action (catalogue spelling) to its resource
    patterns, ``examples`` each action to concrete ARNs the deploy uses.
    """

    required: tuple[tuple[str, tuple[str, ...]], ...]
    examples: tuple[tuple[str, tuple[str, ...]], ...]
    services: tuple[str, ...] = ()

    @property
    def actions(self) -> tuple[str, ...]:
        """The required actions."""
        return tuple(action for action, _ in self.required)

    def patterns(self, action: str) -> tuple[str, ...]:
        """The resource patterns an action is intended for."""
        return dict(self.required).get(action, ())

    def examples_for(self, action: str) -> tuple[str, ...]:
        """Example ARNs for one action."""
        return dict(self.examples).get(action, ())

    @property
    def hints(self) -> tuple[str, ...]:
        """Every example ARN, in order."""
        return tuple(dict.fromkeys(a for _, arns in self.examples for a in arns))


@dataclass(frozen=True)
class ActionCheck:
    """Whether the policy allows exactly the required actions.

    ``missing`` has one request per required action allowed on no resource
    (unconditionally); ``extra`` one witness per group of other actions that
    are allowed on some resource, even conditionally.
    """

    missing: tuple[Request, ...]
    extra: tuple[Request, ...]

    @property
    def holds(self) -> bool:
        """True when nothing is missing and nothing extra."""
        return not self.missing and not self.extra


@dataclass(frozen=True)
class ScopeCheck:
    """Whether some actions are allowed on exactly their intended resources."""

    actions: tuple[str, ...]
    over: tuple[Request, ...]
    under: tuple[Request, ...]

    @property
    def holds(self) -> bool:
        """True when nothing is over- or under-granted."""
        return not self.over and not self.under


def _raw_sets(rules: Sequence[Rule]) -> list[frozenset[int]]:
    catalog = load_catalog()
    return [
        frozenset().union(*(catalog.matching(p) for p in rule.actions))
        for rule in rules
    ]


def _member_rules(
    rules: Sequence[Rule], sets: Sequence[frozenset[int]], index: int | None
) -> list[Rule]:
    return [
        rule
        for rule, found in zip(rules, sets, strict=True)
        if (index is not None and index in found) != rule.not_action
    ]


def _glob_tuple(patterns: Iterable[str]) -> tuple[Glob, ...]:
    return tuple(resource_glob(p)[0] for p in patterns)


def _action_index(name: str) -> int:
    index = load_catalog().index(name)
    if index is None:
        raise KeyError(f"{name} is not an action in the catalogue")
    return index


def check_actions(policy: CompiledPolicy, intent: Intent) -> ActionCheck:
    """Compare the actions the policy allows with the intent's actions."""
    rules, sets = policy.rules, _raw_sets(policy.rules)
    hints = intent.hints
    missing = []
    for name in intent.actions:
        profile = profile_of(_member_rules(rules, sets, _action_index(name)))
        if find_granted(profile, None, hints) is None:
            examples = intent.examples_for(name) or intent.patterns(name)
            missing.append(Request(name, examples[0]))
    required = {_action_index(name) for name in intent.actions}
    extra = [
        witness
        for block, profile in _extra_classes(rules, sets, required)
        if (witness := _extra_witness(block, profile, sets, intent)) is not None
    ]
    return ActionCheck(tuple(missing), tuple(extra))


_REST = None


def _extra_classes(
    rules: Sequence[Rule], sets: Sequence[frozenset[int]], required: set[int]
) -> Iterator[tuple[frozenset[int] | None, Profile]]:
    union = frozenset().union(*sets) if sets else frozenset()
    blocks = [union - required] if union - required else []
    for found in sets:
        blocks = [
            part for block in blocks for part in (block & found, block - found) if part
        ]
    for block in blocks:
        profile = profile_of(_member_rules(rules, sets, next(iter(block))))
        if profile.allows:
            yield block, profile
    if any(rule.not_action for rule in rules):
        profile = profile_of(_member_rules(rules, sets, _REST))
        if profile.allows:
            yield _REST, profile


def _representatives(
    block: frozenset[int] | None,
    sets: Sequence[frozenset[int]],
    intent: Intent,
) -> list[Action]:
    catalog = load_catalog()
    union = frozenset().union(*sets) if sets else frozenset()
    required = {_action_index(name) for name in intent.actions}
    if block is not None and len(block) <= 2000:
        place = catalog.rank_of(intent.services)
        ordered: Iterable[int] = sorted(block, key=place.__getitem__)
    elif block is not None:
        ordered = (i for i in catalog.ranked(intent.services) if i in block)
    else:
        ordered = (
            i
            for i in catalog.ranked(intent.services)
            if i not in union and i not in required
        )
    chosen: dict[tuple[str, ...], Action] = {}
    for index in ordered:
        action = catalog.actions[index]
        chosen.setdefault(typeset_of(action), action)
        if len(chosen) >= REPRESENTATIVES:
            break
    return list(chosen.values())


def _extra_witness(
    block: frozenset[int] | None,
    profile: Profile,
    sets: Sequence[frozenset[int]],
    intent: Intent,
) -> Request | None:
    hints = intent.hints
    representatives = _representatives(block, sets, intent)
    if not representatives:
        return None
    for action in representatives:
        typed = find_allowed(profile, typeset_of(action), (), hints, prove=False)
        if typed is not None:
            return Request(action.name, typed)
    anywhere = find_allowed(profile, None, (), hints)
    return None if anywhere is None else Request(representatives[0].name, anywhere)


def check_scope(
    policy: CompiledPolicy, intent: Intent, actions: Sequence[str]
) -> ScopeCheck:
    """Compare where the policy allows ``actions`` with where the intent does."""
    rules, sets = policy.rules, _raw_sets(policy.rules)
    catalog, hints = load_catalog(), intent.hints
    over, under = [], []
    for name in actions:
        action = catalog.actions[_action_index(name)]
        profile = profile_of(_member_rules(rules, sets, _action_index(name)))
        typeset = typeset_of(action)
        intended = _glob_tuple(intent.patterns(name))
        extra = find_allowed(profile, typeset, intended, hints)
        if extra is not None:
            over.append(Request(action.name, extra))
        lacking = find_missing(profile, typeset, intended, hints) if intended else None
        if lacking is not None:
            under.append(Request(action.name, lacking))
    return ScopeCheck(tuple(actions), tuple(over), tuple(under))


def rule_example(policy: CompiledPolicy, rule: Rule, intent: Intent) -> Request | None:
    """A request beyond the intent that ``rule`` allows and the policy permits."""
    catalog, hints = load_catalog(), intent.hints
    listed = frozenset().union(*(catalog.matching(p) for p in rule.actions))
    required = {_action_index(name) for name in intent.actions}
    block = None if rule.not_action else listed - required
    for action in _representatives(block, [listed], intent):
        typeset = typeset_of(action)
        candidates = itertools.chain(
            hints,
            _template_candidates(typeset, hints),
            *(_instances(g) for g in rule.spec.globs if not rule.spec.negated),
        )
        for resource in candidates:
            if (
                in_types(resource, typeset)
                and rule.matches(action.name, resource)
                and decide(policy.rules, action.name, resource).possible
            ):
                return Request(action.name, resource)
    return None


def rules_for(policy: CompiledPolicy, action: str) -> tuple[Rule, ...]:
    """The statements whose action part matches ``action``."""
    return tuple(rule for rule in policy.rules if rule.matches_action(action))
