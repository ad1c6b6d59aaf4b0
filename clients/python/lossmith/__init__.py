"""A Python client of the Lossmith service: the standard library and `requests`.

    from lossmith import Client
    client = Client("http://127.0.0.1:8000")            # key="lsm_..." when the service has keys
    search = client.create_search({"dataset": "iris", "budget": {"population": 10, "generations": 5}})
    for event in client.events(search.id):              # Server-Sent Events, resumed after a drop
        if event.event == "generation":
            print(event.data["generation"], event.data["bestFitness"])
    losses = client.losses(search.id)
    print(losses.losses[0].simplified.infix, losses.final.difference)
    open("learned_loss.py", "w").write(client.export(search.id, 1, "pytorch"))
    more = client.continue_search(search.id, generations=3)   # a new search, 3 generations on
    client.searches(labels={"team": "vision"})          # filtered by labels (and name, state)
    client.delete_search(search.id)                     # with everything stored of it

Every error the service answers is raised as `LossmithError`, carrying its RFC 9457 problem
document (`error.problem.detail`, `error.problem.errors` with the JSON pointer of each invalid
field). Records are dataclasses; fields the service adds later are kept in each one's `extra`.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field, fields, replace
from typing import Any, Dict, Iterator, List, Optional

import requests

__all__ = [
    "Client",
    "LossmithError",
    "Problem",
    "FieldError",
    "Search",
    "Progress",
    "Filters",
    "Losses",
    "RankedLoss",
    "Formula",
    "FinalComparison",
    "MetricSummary",
    "Candidate",
    "Dataset",
    "Event",
]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _build(cls, data: Optional[Dict[str, Any]], **nested):
    """A dataclass from the service's JSON: camelCase keys to snake_case fields, `nested`
    converting the fields that are records themselves, unknown keys kept in `extra`."""
    if data is None:
        return None
    names = {f.name for f in fields(cls)}
    values: Dict[str, Any] = {}
    extra: Dict[str, Any] = {}
    for key, value in data.items():
        name = _snake(key)
        if name in nested and value is not None:
            value = nested[name](value)
        if name in names and name != "extra":
            values[name] = value
        else:
            extra[key] = value
    if "extra" in names:
        values["extra"] = extra
    return cls(**values)


@dataclass(frozen=True)
class FieldError:
    detail: str
    pointer: Optional[str] = None
    parameter: Optional[str] = None
    row: Optional[int] = None
    column: Optional[str] = None


@dataclass(frozen=True)
class Problem:
    """An RFC 9457 problem document, as the service sends every error."""

    type: str
    title: str
    status: int
    detail: str
    instance: Optional[str] = None
    errors: List[FieldError] = field(default_factory=list)
    extra: Dict[str, Any] = field(default_factory=dict)


class LossmithError(Exception):
    """An error answer of the service, with its problem document."""

    def __init__(self, problem: Problem):
        where = ", ".join(e.pointer or e.parameter or "" for e in problem.errors if e.pointer or e.parameter)
        super().__init__(f"{problem.status} {problem.title}: {problem.detail}" + (f" ({where})" if where else ""))
        self.problem = problem

    @property
    def status(self) -> int:
        return self.problem.status


@dataclass(frozen=True)
class Filters:
    cache_hits: int
    rejected: int
    equivalent: int
    diverged: int
    failed: int
    extra: Dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Progress:
    """The one progress shape of the service: `GET /v1/searches/{id}` and `progress` events."""

    phase: str
    generation: int
    generations: int
    evaluations: int
    best_fitness: Optional[float]
    filters: Filters
    elapsed_ms: float
    eta_ms: Optional[float]
    current: Optional[Dict[str, int]] = None
    resumed_from: Optional[int] = None
    final: Optional[Dict[str, float]] = None
    extra: Dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def of(data: Dict[str, Any]) -> "Progress":
        return _build(Progress, data, filters=lambda f: _build(Filters, f))


@dataclass(frozen=True)
class Search:
    id: str
    state: str
    dataset: str
    created_at: str
    progress: Progress
    config: Dict[str, Any]
    links: Dict[str, str]
    task: Optional[str] = None
    name: Optional[str] = None
    labels: Dict[str, str] = field(default_factory=dict)
    #: `{"search": id, "generation": n}` when this search continues another.
    continues: Optional[Dict[str, Any]] = None
    started_at: Optional[str] = None
    finished_at: Optional[str] = None
    cancel_requested: bool = False
    failures: List[Dict[str, Any]] = field(default_factory=list)
    error: Optional[Dict[str, str]] = None
    replayed: bool = False
    extra: Dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.state in ("succeeded", "failed", "cancelled")


@dataclass(frozen=True)
class Formula:
    infix: str
    latex: str
    extra: Dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RankedLoss:
    rank: int
    infix: str
    latex: str
    structure: Formula
    simplified: Formula
    canonical: str
    tree: List[Any]
    phi: List[float]
    fitness: float
    extra: Dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MetricSummary:
    values: List[Optional[float]]
    mean: Optional[float]
    std: Optional[float]
    curve: List[float]
    extra: Dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FinalComparison:
    """The best loss against the standard loss; `difference` < 0: the learned loss did better.
    Fields added later (a verdict, say) are in `extra`."""

    metric: str
    steps: int
    seeds: List[int]
    curve_every: int
    learned: MetricSummary
    standard: MetricSummary
    difference: Optional[float]
    extra: Dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Losses:
    search: str
    state: str
    task: str
    metric: str
    losses: List[RankedLoss]
    stopped: Optional[str] = None
    final: Optional[FinalComparison] = None
    totals: Optional[Dict[str, float]] = None
    extra: Dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Candidate:
    key: str
    generation: int
    outcome: str
    fitness: Optional[float]
    infix: str
    structure: str
    times: Dict[str, float]
    reason: Optional[str] = None
    equivalent_to: Optional[str] = None
    screen: Optional[Dict[str, float]] = None
    meta_loss: Optional[Dict[str, float]] = None
    extra: Dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Dataset:
    id: str
    name: str
    source: str
    format: str
    task: str
    rows: int
    features: int
    created_at: str
    content_hash: Optional[str] = None
    #: True when the upload was this key's dataset already (the same content): that one is it.
    deduplicated: bool = False
    extra: Dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    """One Server-Sent Event: `state`, `progress`, `generation`, `best` or `finished`."""

    id: int
    event: str
    data: Any


def _summary(data):
    return _build(MetricSummary, data)


def _final(data):
    return _build(FinalComparison, data, learned=_summary, standard=_summary)


def _formula(data):
    return _build(Formula, data)


def _losses(data):
    ranked = lambda items: [_build(RankedLoss, l, structure=_formula, simplified=_formula) for l in items]
    return _build(Losses, data, losses=ranked, final=_final)


class Client:
    """The service at `base_url`. `stream_timeout` is the longest silence an event stream may
    have before it is taken as dropped and resumed (the service sends a comment every 15 s)."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000",
        key: Optional[str] = None,
        session: Optional[requests.Session] = None,
        timeout: float = 60.0,
        stream_timeout: float = 30.0,
    ):
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        if key:
            self.session.headers["Authorization"] = f"Bearer {key}"
        self.timeout = timeout
        self.stream_timeout = stream_timeout
        #: How many times an event stream was resumed after a drop.
        self.reconnects = 0

    # -- plumbing -------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        response = self.session.request(method, self.base_url + path, **kwargs)
        if response.status_code >= 400:
            raise LossmithError(self._problem(response))
        return response

    @staticmethod
    def _problem(response: requests.Response) -> Problem:
        try:
            body = response.json()
        except ValueError:
            body = {"type": "about:blank", "title": response.reason, "status": response.status_code,
                    "detail": response.text[:500]}
        errors = lambda items: [_build(FieldError, e) for e in items]
        return _build(Problem, body, errors=errors)

    def _pages(self, path: str, params: Dict[str, Any]) -> Iterator[Dict[str, Any]]:
        params = dict(params)
        while True:
            page = self._request("GET", path, params=params).json()
            yield from page["items"]
            if not page.get("nextCursor"):
                return
            params["cursor"] = page["nextCursor"]

    # -- datasets -------------------------------------------------------------------------

    def datasets(self) -> List[Dataset]:
        return [_build(Dataset, d) for d in self._pages("/v1/datasets", {"limit": 100})]

    def upload_dataset(self, files: Dict[str, Any], **fields: str) -> Dataset:
        """Files by role (`file`, or `features` and `labels`, or `images` and `labels`), each a
        path, bytes or an open binary file; `fields` as the form takes them (target, task...)."""
        parts = {}
        for role, f in files.items():
            parts[role] = open(f, "rb") if isinstance(f, str) else f
        try:
            response = self._request("POST", "/v1/datasets", files=parts, data=fields)
            dataset = _build(Dataset, response.json())
            if response.headers.get("Deduplicated") == "true":
                dataset = replace(dataset, deduplicated=True)
            return dataset
        finally:
            for role, f in files.items():
                if isinstance(f, str):
                    parts[role].close()

    # -- searches -------------------------------------------------------------------------

    def create_search(self, request: Dict[str, Any], idempotency_key: Optional[str] = None) -> Search:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        response = self._request("POST", "/v1/searches", json=request, headers=headers)
        search = self._search(response.json())
        if response.headers.get("Idempotent-Replayed") == "true":
            search = replace(search, replayed=True)
        return search

    @staticmethod
    def _search(data: Dict[str, Any]) -> Search:
        return _build(Search, data, progress=Progress.of)

    def search(self, search_id: str) -> Search:
        return self._search(self._request("GET", f"/v1/searches/{search_id}").json())

    def searches(
        self,
        state: Optional[str] = None,
        name: Optional[str] = None,
        labels: Optional[Dict[str, Optional[str]]] = None,
    ) -> Iterator[Search]:
        """This key's searches, newest first, every filter given holding: `labels` maps each key
        to its value, or to None for the key with any value."""
        params: Dict[str, Any] = {"limit": 100}
        if state:
            params["state"] = state
        if name is not None:
            params["name"] = name
        if labels:
            params["label"] = [k if v is None else f"{k}:{v}" for k, v in labels.items()]
        return (self._search(s) for s in self._pages("/v1/searches", params))

    def update_search(
        self,
        search_id: str,
        name: Any = ...,
        labels: Optional[Dict[str, Optional[str]]] = None,
    ) -> Search:
        """A new name (None removes it; leave it out to keep it) and labels (None removes one,
        the others stay)."""
        patch: Dict[str, Any] = {}
        if name is not ...:
            patch["name"] = name
        if labels is not None:
            patch["labels"] = labels
        response = self._request(
            "PATCH",
            f"/v1/searches/{search_id}",
            data=json.dumps(patch),
            headers={"Content-Type": "application/merge-patch+json"},
        )
        return self._search(response.json())

    def continue_search(
        self,
        search_id: str,
        generations: int,
        idempotency_key: Optional[str] = None,
        **fields: Any,
    ) -> Search:
        """A new search that continues a finished one for `generations` more; `fields` as the
        request takes them (max_evaluations, max_seconds, name, labels)."""
        body = {"generations": generations}
        body.update({_camel(k): v for k, v in fields.items()})
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        response = self._request(
            "POST", f"/v1/searches/{search_id}:continue", json=body, headers=headers
        )
        search = self._search(response.json())
        if response.headers.get("Idempotent-Replayed") == "true":
            search = replace(search, replayed=True)
        return search

    def delete_search(self, search_id: str) -> None:
        """Deletes the search and everything stored of it (a running one is cancelled first)."""
        self._request("DELETE", f"/v1/searches/{search_id}")

    def cancel(self, search_id: str) -> Search:
        return self._search(self._request("POST", f"/v1/searches/{search_id}:cancel").json())

    def events(self, search_id: str, after: int = 0, max_retries: int = 10) -> Iterator[Event]:
        """The search's events after id `after`, until `finished`. A dropped or silent connection
        is resumed with `Last-Event-ID`, so no event is missed or repeated; after `finished`
        there is nothing (the service answers 204)."""
        last = after
        failures = 0
        while True:
            try:
                with self.session.get(
                    f"{self.base_url}/v1/searches/{search_id}/events",
                    headers={"Last-Event-ID": str(last), "Accept": "text/event-stream"},
                    stream=True,
                    timeout=(self.timeout, self.stream_timeout),
                ) as response:
                    if response.status_code >= 400:
                        raise LossmithError(self._problem(response))
                    if response.status_code == 204:
                        return  # finished, and every event after `after` was sent before
                    for event in self._parse(response):
                        failures = 0
                        last = event.id
                        yield event
                        if event.event == "finished":
                            return
                # The stream ended without `finished` (the service stopping): resume.
            except (requests.ConnectionError, requests.Timeout,
                    requests.exceptions.ChunkedEncodingError):
                failures += 1
                if failures > max_retries:
                    raise
                time.sleep(min(0.1 * 2 ** failures, 5.0))
            self.reconnects += 1

    @staticmethod
    def _parse(response: requests.Response) -> Iterator[Event]:
        fields: Dict[str, str] = {}
        data: List[str] = []
        for line in response.iter_lines(decode_unicode=True):
            if line == "":
                if data:
                    yield Event(int(fields.get("id", 0)), fields.get("event", "message"),
                                json.loads("\n".join(data)))
                fields, data = {}, []
            elif line.startswith(":"):
                continue  # keep-alive comment
            else:
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "data":
                    data.append(value)
                else:
                    fields[name] = value

    def wait(self, search_id: str) -> Search:
        """Follows the events to the end, then returns the search."""
        for _ in self.events(search_id):
            pass
        return self.search(search_id)

    # -- results --------------------------------------------------------------------------

    def losses(self, search_id: str) -> Losses:
        return _losses(self._request("GET", f"/v1/searches/{search_id}/losses").json())

    def export(self, search_id: str, rank: int = 1, format: str = "pytorch") -> str:
        """`pytorch`, `tfjs`, `json` or `svg` (the expression tree), as text."""
        return self._request("GET", f"/v1/searches/{search_id}/losses/{rank}/{format}").text

    def candidates(self, search_id: str, sort: str = "generation") -> List[Candidate]:
        items = self._pages(f"/v1/searches/{search_id}/candidates", {"sort": sort, "limit": 1000})
        return [_build(Candidate, c) for c in items]

    def result(self, search_id: str) -> Dict[str, Any]:
        """The whole result document (its schema: `SearchResult` in /openapi.json)."""
        return self._request("GET", f"/v1/searches/{search_id}/result").json()

    def report(self, search_id: str) -> str:
        """The HTML report of a finished search."""
        return self._request("GET", f"/v1/searches/{search_id}/report").text
