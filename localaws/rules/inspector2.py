"""Amazon Inspector's rules for ``ListFindings``: seeded findings, filter criteria, sorting and
pages, as AWS answers them (moto returns canned results without filters or pages).

- Findings are kept in JSON wire form (times as epoch seconds), checked against botocore's
  ``inspector2`` model; a finding belongs to the region of its ``findingArn``, and a caller
  sees every finding of its region, as Inspector's delegated administrator sees its members'.
- ``filterCriteria``: criteria are joined by AND. Within one criterion, ``EQUALS`` and
  ``PREFIX`` filters are joined by OR and ``NOT_EQUALS`` filters by AND (a finding with
  several values, e.g. image tags, matches a positive filter when any value does, a negative
  one when none does); date and number ranges are joined by OR, bounds inclusive. A criterion
  of the model that is not evaluated here is refused, never silently ignored.
- ``maxResults`` 1-100 (the model's range). The default is not documented; 50 here.
- Page tokens are opaque and carry no server state: the position after the last finding
  returned (sort value and seeding order), signed and bound to the filters and sort of the
  request, so a finding changed or removed between pages does not shift the next page.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import itertools
import re
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from localaws.rules.errors import ApiError
from localaws.shapes import shape, to_wire

MAX_RESULTS = 100
DEFAULT_MAX_RESULTS = 50  # undocumented by AWS
FILTERS_PER_CRITERION = 10  # StringFilterList, DateFilterList, NumberFilterList: 1-10 items
STRING_VALUE_MAX = 1024
STRING_COMPARISONS = ("EQUALS", "PREFIX", "NOT_EQUALS")
SORT_ORDERS = ("ASC", "DESC")
# Inspector's severities, lowest first, for sorting by SEVERITY.
SEVERITY_ORDER = ("UNTRIAGED", "INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL")
_FINDING_ARN = re.compile(r"arn:aws[a-z-]*:inspector2:(?P<region>[a-z0-9-]+):\d{12}:finding/.+")
_REQUIRED = (
    "findingArn",
    "awsAccountId",
    "type",
    "description",
    "remediation",
    "severity",
    "firstObservedAt",
    "lastObservedAt",
    "status",
    "resources",
)


def validation_error(message: str) -> ApiError:
    return ApiError("ValidationException", message)


def finding_region(finding_arn: str) -> str:
    match = _FINDING_ARN.fullmatch(finding_arn)
    if match is None:
        raise ValueError(f"not an Inspector finding ARN: {finding_arn!r}")
    return match["region"]


def finding_wire(finding: Mapping[str, Any]) -> dict[str, Any]:
    """A finding (datetimes or epoch seconds) checked against the model, in wire form."""
    wire: dict[str, Any] = to_wire(finding, shape("inspector2", "Finding"), "finding")
    missing = [name for name in _REQUIRED if name not in wire]
    if missing:
        raise ValueError(f"finding: missing required member(s) {', '.join(missing)}")
    finding_region(wire["findingArn"])
    return wire


# -- what a criterion or a sort field reads from a finding -----------------------------------


def _resources(finding: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [r for r in finding.get("resources") or () if isinstance(r, dict)]


def _ecr_images(finding: Mapping[str, Any]) -> list[dict[str, Any]]:
    images = []
    for resource in _resources(finding):
        image = (resource.get("details") or {}).get("awsEcrContainerImage")
        if isinstance(image, dict):
            images.append(image)
    return images


def _top(name: str) -> Callable[[Mapping[str, Any]], list[Any]]:
    return lambda f: [f[name]] if f.get(name) is not None else []


def _package(name: str) -> Callable[[Mapping[str, Any]], list[Any]]:
    def read(finding: Mapping[str, Any]) -> list[Any]:
        value = (finding.get("packageVulnerabilityDetails") or {}).get(name)
        if value is None:
            return []
        return list(value) if isinstance(value, list) else [value]

    return read


def _resource(name: str) -> Callable[[Mapping[str, Any]], list[Any]]:
    return lambda f: [r[name] for r in _resources(f) if r.get(name) is not None]


def _image(name: str) -> Callable[[Mapping[str, Any]], list[Any]]:
    def read(finding: Mapping[str, Any]) -> list[Any]:
        values: list[Any] = []
        for image in _ecr_images(finding):
            value = image.get(name)
            if isinstance(value, list):
                values.extend(value)
            elif value is not None:
                values.append(value)
        return values

    return read


def _epss(finding: Mapping[str, Any]) -> list[Any]:
    score = (finding.get("epss") or {}).get("score")
    return [] if score is None else [score]


def _severity_rank(finding: Mapping[str, Any]) -> list[Any]:
    severity = finding.get("severity")
    return [SEVERITY_ORDER.index(severity)] if severity in SEVERITY_ORDER else []


Reader = Callable[[Mapping[str, Any]], list[Any]]
# criterion → (filter kind, what it reads); the kind is the model's, checked by a test.
CRITERIA: dict[str, tuple[str, Reader]] = {
    "findingArn": ("string", _top("findingArn")),
    "awsAccountId": ("string", _top("awsAccountId")),
    "findingType": ("string", _top("type")),
    "severity": ("string", _top("severity")),
    "findingStatus": ("string", _top("status")),
    "title": ("string", _top("title")),
    "fixAvailable": ("string", _top("fixAvailable")),
    "exploitAvailable": ("string", _top("exploitAvailable")),
    "firstObservedAt": ("date", _top("firstObservedAt")),
    "lastObservedAt": ("date", _top("lastObservedAt")),
    "updatedAt": ("date", _top("updatedAt")),
    "inspectorScore": ("number", _top("inspectorScore")),
    "epssScore": ("number", _epss),
    "resourceType": ("string", _resource("type")),
    "resourceId": ("string", _resource("id")),
    "ecrImageRepositoryName": ("string", _image("repositoryName")),
    "ecrImageHash": ("string", _image("imageHash")),
    "ecrImageRegistry": ("string", _image("registry")),
    "ecrImageArchitecture": ("string", _image("architecture")),
    "ecrImageTags": ("string", _image("imageTags")),
    "ecrImagePushedAt": ("date", _image("pushedAt")),
    "ecrImageLastInUseAt": ("date", _image("lastInUseAt")),
    "ecrImageInUseCount": ("number", _image("inUseCount")),
    "vulnerabilityId": ("string", _package("vulnerabilityId")),
    "vulnerabilitySource": ("string", _package("source")),
    "vendorSeverity": ("string", _package("vendorSeverity")),
    "relatedVulnerabilities": ("string", _package("relatedVulnerabilities")),
}
_FILTER_SHAPES = {"string": "StringFilter", "date": "DateFilter", "number": "NumberFilter"}
SORT_FIELDS: dict[str, Reader] = {
    "AWS_ACCOUNT_ID": _top("awsAccountId"),
    "FINDING_TYPE": _top("type"),
    "SEVERITY": _severity_rank,
    "FIRST_OBSERVED_AT": _top("firstObservedAt"),
    "LAST_OBSERVED_AT": _top("lastObservedAt"),
    "FINDING_STATUS": _top("status"),
    "RESOURCE_TYPE": _resource("type"),
    "ECR_IMAGE_PUSHED_AT": _image("pushedAt"),
    "ECR_IMAGE_REPOSITORY_NAME": _image("repositoryName"),
    "ECR_IMAGE_REGISTRY": _image("registry"),
    "NETWORK_PROTOCOL": lambda f: [
        p for p in [(f.get("networkReachabilityDetails") or {}).get("protocol")] if p
    ],
    "COMPONENT_TYPE": lambda f: [],  # network paths: no container image finding has one
    "VULNERABILITY_ID": _package("vulnerabilityId"),
    "VULNERABILITY_SOURCE": _package("source"),
    "INSPECTOR_SCORE": _top("inspectorScore"),
    "VENDOR_SEVERITY": _package("vendorSeverity"),
    "EPSS_SCORE": _epss,
}


# -- the request ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListRequest:
    """A checked ListFindings request."""

    criteria: dict[str, list[dict[str, Any]]]
    sort_field: str | None
    sort_order: str
    max_results: int
    next_token: str | None

    @property
    def query_key(self) -> bytes:
        """What a page token is bound to: the filters and the sort, not the page size."""
        query = {"c": self.criteria, "s": [self.sort_field, self.sort_order]}
        return hashlib.sha256(orjson.dumps(query, option=orjson.OPT_SORT_KEYS)).digest()[:12]


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_filter(kind: str, item: object, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise validation_error(f"{where}: expected an object")
    members = set(shape("inspector2", _FILTER_SHAPES[kind]).members)
    unknown = sorted(set(item) - members)
    if unknown:
        raise validation_error(f"{where}: unknown member(s) {', '.join(unknown)}")
    if kind == "string":
        comparison, value = item.get("comparison"), item.get("value")
        if comparison not in STRING_COMPARISONS:
            raise validation_error(
                f"1 validation error detected: Value {comparison!r} at '{where}.comparison' "
                f"failed to satisfy constraint: Member must satisfy enum value set: "
                f"[{', '.join(STRING_COMPARISONS)}]"
            )
        if not isinstance(value, str) or not 1 <= len(value) <= STRING_VALUE_MAX:
            raise validation_error(
                f"1 validation error detected: Value at '{where}.value' failed to satisfy "
                f"constraint: Member must have length between 1 and {STRING_VALUE_MAX}"
            )
        return {"comparison": comparison, "value": value}
    bounds = (
        ("startInclusive", "endInclusive")
        if kind == "date"
        else ("lowerInclusive", "upperInclusive")
    )
    checked: dict[str, Any] = {}
    for bound in bounds:
        if bound in item and item[bound] is not None:
            if not _number(item[bound]):
                raise validation_error(f"{where}.{bound}: expected a number")
            checked[bound] = float(item[bound])
    return checked


def list_request(params: Mapping[str, Any]) -> ListRequest:
    """Check a ListFindings request body; raise ApiError(ValidationException) as AWS would."""
    max_results = params.get("maxResults", DEFAULT_MAX_RESULTS)
    if not _number(max_results) or not isinstance(max_results, int):
        raise validation_error("maxResults: expected an integer")
    if not 1 <= max_results <= MAX_RESULTS:
        raise validation_error(
            f"1 validation error detected: Value '{max_results}' at 'maxResults' failed to "
            f"satisfy constraint: Member must have value between 1 and {MAX_RESULTS}"
        )
    token = params.get("nextToken")
    if token is not None and not isinstance(token, str):
        raise validation_error("nextToken: expected a string")

    raw_criteria = params.get("filterCriteria") or {}
    if not isinstance(raw_criteria, dict):
        raise validation_error("filterCriteria: expected an object")
    known = shape("inspector2", "FilterCriteria").members
    criteria: dict[str, list[dict[str, Any]]] = {}
    for name, filters in raw_criteria.items():
        if name not in known:
            raise validation_error(f"filterCriteria: unknown criterion {name!r}")
        if name not in CRITERIA:
            raise validation_error(
                f"filterCriteria.{name}: a criterion the local AWS does not evaluate"
            )
        if not isinstance(filters, list) or not 1 <= len(filters) <= FILTERS_PER_CRITERION:
            raise validation_error(
                f"1 validation error detected: Value at 'filterCriteria.{name}' failed to "
                f"satisfy constraint: Member must have length between 1 and "
                f"{FILTERS_PER_CRITERION}"
            )
        kind = CRITERIA[name][0]
        criteria[name] = [
            _check_filter(kind, item, f"filterCriteria.{name}[{i}]")
            for i, item in enumerate(filters)
        ]

    sort = params.get("sortCriteria")
    sort_field: str | None = None
    sort_order = "ASC"
    if sort is not None:
        if not isinstance(sort, dict):
            raise validation_error("sortCriteria: expected an object")
        field, order = sort.get("field"), sort.get("sortOrder")
        if not isinstance(field, str) or field not in SORT_FIELDS:
            raise validation_error(
                f"1 validation error detected: Value {field!r} at 'sortCriteria.field' "
                "failed to satisfy constraint: Member must satisfy enum value set"
            )
        if not isinstance(order, str) or order not in SORT_ORDERS:
            raise validation_error(
                f"1 validation error detected: Value {order!r} at "
                "'sortCriteria.sortOrder' failed to satisfy constraint: Member must satisfy "
                "enum value set: [ASC, DESC]"
            )
        sort_field, sort_order = field, order
    return ListRequest(
        criteria=criteria,
        sort_field=sort_field,
        sort_order=sort_order,
        max_results=max_results,
        next_token=token,
    )


# -- matching ---------------------------------------------------------------------------------


def _string_matches(values: list[Any], item: Mapping[str, Any]) -> bool:
    comparison, wanted = item["comparison"], item["value"]
    texts = [v for v in values if isinstance(v, str)]
    if comparison == "EQUALS":
        return wanted in texts
    if comparison == "PREFIX":
        return any(v.startswith(wanted) for v in texts)
    return wanted not in texts  # NOT_EQUALS


def _range_matches(values: list[Any], item: Mapping[str, Any], low: str, high: str) -> bool:
    return any(
        _number(v) and (low not in item or v >= item[low]) and (high not in item or v <= item[high])
        for v in values
    )


def criterion_matches(kind: str, values: list[Any], filters: list[dict[str, Any]]) -> bool:
    if kind == "string":
        positive = [f for f in filters if f["comparison"] != "NOT_EQUALS"]
        negative = [f for f in filters if f["comparison"] == "NOT_EQUALS"]
        return (not positive or any(_string_matches(values, f) for f in positive)) and all(
            _string_matches(values, f) for f in negative
        )
    low, high = (
        ("startInclusive", "endInclusive")
        if kind == "date"
        else ("lowerInclusive", "upperInclusive")
    )
    return any(_range_matches(values, f, low, high) for f in filters)


def matches(finding: Mapping[str, Any], criteria: Mapping[str, list[dict[str, Any]]]) -> bool:
    """Whether a finding (wire form) passes every criterion of a checked request."""
    for name, filters in criteria.items():
        kind, read = CRITERIA[name]
        if not criterion_matches(kind, read(finding), filters):
            return False
    return True


# -- the book of findings, and pages ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredFinding:
    serial: int  # seeding order: the default order, and the tie-break of every sort
    region: str
    wire: dict[str, Any]


@functools.total_ordering
class _Descending:
    """A sort value compared the other way round."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and self.value == other.value

    def __lt__(self, other: _Descending) -> bool:
        return bool(self.value > other.value)


Position = tuple[int, Any, int]  # (missing?, sort value, serial), as JSON-able values


def position(stored: StoredFinding, sort_field: str | None) -> Position:
    """Where a finding sorts: by the sort value (findings without one last), then by serial."""
    if sort_field is None:
        return (0, 0, stored.serial)
    values = SORT_FIELDS[sort_field](stored.wire)
    return (1, 0, stored.serial) if not values else (0, values[0], stored.serial)


def _sort_key(pos: Position, order: str) -> tuple[Any, ...]:
    missing, value, serial = pos
    return (missing, _Descending(value) if order == "DESC" else value, serial)


class FindingBook:
    """Thread-safe store of Inspector findings, keyed by ``findingArn``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._findings: dict[str, StoredFinding] = {}
        self._serials = itertools.count(1)
        self._secret = secrets.token_bytes(16)

    def put(self, finding: Mapping[str, Any]) -> dict[str, Any]:
        """Add a finding or replace the one with its ARN (which keeps its place in the default
        order); return it in wire form."""
        wire = finding_wire(finding)
        arn = wire["findingArn"]
        with self._lock:
            known = self._findings.get(arn)
            serial = known.serial if known else next(self._serials)
            self._findings[arn] = StoredFinding(serial, finding_region(arn), wire)
        return wire

    def update(self, finding_arn: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Change top-level members of a finding (KeyError when unknown); return it."""
        with self._lock:
            known = self._findings.get(finding_arn)
        if known is None:
            raise KeyError(finding_arn)
        return self.put({**known.wire, **changes})

    def delete(self, finding_arn: str) -> None:
        with self._lock:
            self._findings.pop(finding_arn, None)

    def get(self, finding_arn: str) -> dict[str, Any] | None:
        with self._lock:
            known = self._findings.get(finding_arn)
        return None if known is None else known.wire

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            stored = sorted(self._findings.values(), key=lambda s: s.serial)
        return [s.wire for s in stored]

    def in_region(self, region: str) -> list[StoredFinding]:
        with self._lock:
            return [s for s in self._findings.values() if s.region == region]

    def clear(self) -> None:
        with self._lock:
            self._findings.clear()

    # Tokens: the position after which the next page starts, bound to the request's query.
    def token(self, request: ListRequest, after: Position) -> str:
        payload = request.query_key + orjson.dumps(list(after))
        mac = hmac.new(self._secret, payload, hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(mac + payload).decode()

    def position_of(self, request: ListRequest, token: str) -> Position:
        """The position a token continues after; ValueError when it is not one of this
        request's tokens."""
        try:
            raw = base64.urlsafe_b64decode(token.encode())
        except ValueError:
            raise ValueError("malformed token") from None
        mac, payload = raw[:12], raw[12:]
        good = hmac.new(self._secret, payload, hashlib.sha256).digest()[:12]
        if not hmac.compare_digest(mac, good):
            raise ValueError("malformed token")
        if payload[:12] != request.query_key:
            raise ValueError("the token was issued for other filter or sort criteria")
        missing, value, serial = orjson.loads(payload[12:])
        return (int(missing), value, int(serial))


def list_page(request: ListRequest, book: FindingBook, region: str) -> dict[str, Any]:
    """The ListFindings answer in ``region``: the next ``maxResults`` matching findings."""
    order = request.sort_order
    chosen = [s for s in book.in_region(region) if matches(s.wire, request.criteria)]
    keyed = sorted(
        ((position(s, request.sort_field), s) for s in chosen),
        key=lambda pair: _sort_key(pair[0], order),
    )
    if request.next_token is not None:
        try:
            after = _sort_key(book.position_of(request, request.next_token), order)
        except ValueError as exc:
            raise validation_error(f"Invalid nextToken: {exc}") from None
        keyed = [(pos, s) for pos, s in keyed if _sort_key(pos, order) > after]
    page = keyed[: request.max_results]
    answer: dict[str, Any] = {"findings": [s.wire for _pos, s in page]}
    if len(keyed) > len(page):
        answer["nextToken"] = book.token(request, page[-1][0])
    return answer
