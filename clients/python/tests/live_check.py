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
print("all checks passed")
