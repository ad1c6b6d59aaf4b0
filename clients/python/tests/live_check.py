"""The client against a real service: `python3 live_check.py BASE_URL` (tests/python_client.test.ts
starts the service and runs this with Debian's Python). Prints one line per check; exits non-zero
on the first that fails."""

import sys

from lossmith import Client, FinalComparison, LossmithError, RankedLoss, Search

BASE = sys.argv[1]
SMALL = {
    "dataset": "iris",
    "model": {"hidden": [8]},
    "budget": {"population": 4, "generations": 2},
    "evaluation": {"screen": {"steps": 20}, "localSearch": {"metaSteps": 5}, "fitnessSteps": 20},
    "final": {"steps": 40, "seeds": 2},
    "seed": 3,
}


def check(what, condition):
    if not condition:
        raise SystemExit(f"FAILED: {what}")
    print(f"ok: {what}")


# A silence of 50 ms counts as a dropped stream: the client must resume it, many times over.
client = Client(BASE, stream_timeout=0.05)

check("datasets include the bundled iris", "iris" in [d.id for d in client.datasets()])

try:
    client.create_search({"dataset": "iris", "budget": {"population": 0}})
    check("an invalid search is refused", False)
except LossmithError as e:
    pointers = [x.pointer for x in e.problem.errors]
    check("an invalid search raises with its problem document",
          e.status == 422 and "/budget/population" in pointers and e.problem.detail)

try:
    client.search("srch_nothing")
    check("an unknown search is not found", False)
except LossmithError as e:
    check("an unknown search raises 404 with its problem type", e.status == 404 and e.problem.type)

search = client.create_search(SMALL, idempotency_key="python-client-1")
check("a search is created as a typed record", isinstance(search, Search) and search.id.startswith("srch_"))
again = client.create_search(SMALL, idempotency_key="python-client-1")
check("the same idempotency key replays the search", again.id == search.id and again.replayed)

events = list(client.events(search.id))
ids = [e.id for e in events]
check("events come in order, none twice, however often the stream was resumed",
      ids == sorted(set(ids)) and events[-1].event == "finished")
check(f"the stream was resumed after silences ({client.reconnects} times)", client.reconnects >= 1)
names = {e.event for e in events}
check("every kind of event arrives", {"state", "progress", "generation", "best", "finished"} <= names)
# Resuming after an id gives exactly the rest.
middle = ids[len(ids) // 2]
check("events after an id are exactly the rest", [e.id for e in client.events(search.id, after=middle)]
      == [i for i in ids if i > middle])
reconnects = client.reconnects
check("after `finished` there is nothing, at once (204, not a reconnection loop)",
      list(client.events(search.id, after=ids[-1])) == [] and client.reconnects == reconnects)

done = client.search(search.id)
check("the search succeeded", done.state == "succeeded" and done.finished)
check("its progress is typed", done.progress.phase == "done" and done.progress.filters.rejected >= 0)

losses = client.losses(search.id)
best = losses.losses[0]
check("ranked losses are typed, with the simplified formula",
      isinstance(best, RankedLoss) and best.simplified.infix and best.structure.latex)
final = losses.final
check("the final comparison is typed", isinstance(final, FinalComparison)
      and len(final.learned.values) == 2 and final.difference is not None
      and abs(final.difference - (final.learned.mean - final.standard.mean)) < 1e-12)
check("the PyTorch export is code", "def learned_loss" in client.export(search.id, 1, "pytorch"))
candidates = client.candidates(search.id, sort="fitness")
check("candidates come with outcomes and times",
      candidates and all(c.outcome for c in candidates) and any(c.times for c in candidates))
check("the result document and the report", client.result(search.id)["kind"] == "lossmith.search-result"
      and "Final comparison" in client.report(search.id))
check("the search is listed", search.id in [s.id for s in client.searches(state="succeeded")])

# The lifecycle: names and labels, continuing, deleting, uploads kept once per content.
labelled = client.update_search(search.id, name="iris small", labels={"team": "vision", "tier": "1"})
check("a search is renamed and labelled", labelled.name == "iris small"
      and labelled.labels == {"team": "vision", "tier": "1"})
check("a label filter finds it", [s.id for s in client.searches(labels={"team": "vision", "tier": None})]
      == [search.id] and list(client.searches(labels={"team": "audio"})) == [])
check("a label is removed, the name kept", client.update_search(search.id, labels={"tier": None}).labels
      == {"team": "vision"} and client.search(search.id).name == "iris small")
more = client.continue_search(search.id, generations=1, name="iris small, one more")
check("a continuation is a new search that names the one it continues",
      more.id != search.id and more.continues == {"search": search.id, "generation": 2}
      and more.labels == {"team": "vision"} and more.name == "iris small, one more")
more = client.wait(more.id)
check("the continuation ran the generation asked for", more.state == "succeeded"
      and more.progress.generation == 3 and more.progress.generations == 3)
client.delete_search(search.id)
try:
    client.search(search.id)
    check("a deleted search is gone", False)
except LossmithError as e:
    check("a deleted search is gone", e.status == 404)
check("the continuation stays", client.search(more.id).state == "succeeded")
csv = b"a,b,y\n" + b"".join(f"{i % 7},{i % 3},{i % 2}\n".encode() for i in range(30))
first = client.upload_dataset({"file": csv}, target="y", name="first")
again = client.upload_dataset({"file": csv}, target="y", name="second")
check("the same bytes uploaded again are the same dataset", not first.deduplicated
      and again.deduplicated and again.id == first.id and again.name == "first"
      and again.content_hash == first.content_hash)
try:
    client.searches(state="succeeded").__next__()
    client._request("GET", "/v1/searches", params={"colour": "blue"})
    check("an unknown parameter is refused", False)
except LossmithError as e:
    check("an unknown parameter is refused, by name", e.status == 400
          and [x.parameter for x in e.problem.errors] == ["colour"])
print("all checks passed")
