/**
 * Server-Sent Events of a search. Every event is stored with an increasing id, so a client that
 * reconnects with `Last-Event-ID` (browsers do it by themselves) gets exactly what it missed;
 * the stream replays from the store, then waits for new events, and ends after `finished`. A
 * reconnection once everything was sent, `finished` included, gets 204 No Content, on which
 * EventSource stops reconnecting (an empty 200 would make it reconnect forever). Open streams
 * are counted per key and in all (429 and 503, with Retry-After, past the limits).
 */
import { streamSSE } from "hono/streaming";
import type { Service } from "../../service/mod.ts";
import { FINISHED_STATES } from "../../service/types.ts";
import { ServiceError } from "../../service/errors.ts";
import type { RouteSpec } from "../route.ts";
import { ref } from "../schemas/common.ts";
import { idParam, problems } from "./common.ts";

const BATCH = 500;
const KEEPALIVE_MS = 15_000;
/** Seconds a client refused a stream is told to wait. */
const STREAM_RETRY_S = 5;

export function eventRoutes(service: Service): RouteSpec[] {
  return [{
    method: "get",
    path: "/v1/searches/{id}/events",
    operationId: "searchEvents",
    summary: "Follow a search as Server-Sent Events",
    description: "Events `state`, `progress`, `generation`, `best` and `finished` (then the " +
      "stream closes); each `data` is JSON. Resume with the `Last-Event-ID` header (or the " +
      "`after` parameter) set to the last id received; once `finished` was received, the " +
      "answer is 204 No Content, on which EventSource stops. A comment is sent every 15 s " +
      "to keep proxies from closing an idle stream. The stream of a search deleted meanwhile " +
      "ends. Open streams are limited per key (429) and in all (503).",
    tag: "searches",
    params: {
      path: { id: idParam("search") },
      query: {
        after: { type: "integer", minimum: 0, description: "Replay events after this id." },
      },
      header: {
        "Last-Event-ID": {
          type: "integer",
          minimum: 0,
          description: "As `after`; sent by browsers.",
        },
      },
    },
    responses: {
      "200": {
        description: "An event stream.",
        content: { "text/event-stream": ref("SearchEvent") },
      },
      "204": { description: "The search has finished and every event was sent." },
      ...problems(401, 404, 422, 429, 503),
    },
    handler: async (c, input) => {
      const id = input.path.id;
      const job = await service.jobs.get(input.owner, id); // 404 before the stream starts
      let last = (input.headers["Last-Event-ID"] as number | undefined) ??
        (input.query.after as number | undefined) ?? 0;
      const done = FINISHED_STATES.includes(job.state);
      if (done && (await service.jobs.eventsAfter(input.owner, id, last, 1)).length === 0) {
        return new Response(null, { status: 204 });
      }
      const slot = service.streams.tryAcquire(input.owner);
      if (slot === "owner") {
        throw new ServiceError(
          "limit",
          "Too many event streams",
          `this key has ${service.streams.perOwner} event streams open, the limit per key; ` +
            "close one (each search needs one at most)",
          [],
          STREAM_RETRY_S,
        );
      }
      if (slot === "total") {
        throw new ServiceError(
          "unavailable",
          "Too many event streams",
          `${service.streams.total} event streams are open, this service's limit; ` +
            "try again shortly, or poll the search",
          [],
          STREAM_RETRY_S,
        );
      }
      return streamSSE(c, async (stream) => {
        stream.onAbort(() => slot.release());
        const closed = new AbortController();
        stream.onAbort(() => closed.abort());
        // Removed when the stream ends (closed aborts in finally), so none accumulate.
        service.closing.addEventListener("abort", () => closed.abort(), {
          once: true,
          signal: closed.signal,
        });
        try {
          await follow(closed.signal);
        } catch (e) {
          // Deleted meanwhile: the stream ends (a reconnection is then answered 404).
          if (!(e instanceof ServiceError && e.kind === "not-found")) throw e;
        } finally {
          closed.abort();
          slot.release();
        }

        async function follow(signal: AbortSignal): Promise<void> {
          while (!signal.aborted) {
            const events = await service.jobs.eventsAfter(input.owner, id, last, BATCH);
            for (const e of events) {
              await stream.writeSSE({
                id: String(e.id),
                event: e.type,
                data: JSON.stringify(e.data),
              });
              last = e.id;
              if (e.type === "finished") return;
            }
            if (events.length === BATCH) continue;
            if (events.length === 0) {
              // Resumed after the end: nothing more will come.
              const { state } = await service.jobs.get(input.owner, id);
              if (FINISHED_STATES.includes(state)) return;
            }
            const before = last;
            await service.jobs.waitForEvents(id, KEEPALIVE_MS, signal);
            if (
              !signal.aborted &&
              (await service.jobs.eventsAfter(input.owner, id, before, 1)).length === 0
            ) {
              await stream.write(": keep-alive\n\n");
            }
          }
        }
      });
    },
  }];
}
