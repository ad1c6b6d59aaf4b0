/**
 * The one protocol between the main thread and every worker (candidate evaluation, dataset
 * inspection, reproduction units). A worker serves a table of operations (`serveOps`); the main
 * thread calls them through a `WorkerClient`, and the client's type is derived from the table's,
 * so an operation is written once, where it runs. Messages are structured-clone safe: arguments
 * and results are plain data.
 *
 * A request may carry a context (a job's description): the worker builds what the context needs
 * the first time it meets it and keeps it for later requests (`opsFor`), so nothing large is
 * posted. Requests run strictly one at a time on a worker: tfjs keeps global state per thread.
 *
 * After every request the worker checks itself (`health`): a worker whose runtime broke (a wasm
 * abort, an exhausted heap) answers `broken` instead of its result, which was computed on a
 * backend that can no longer be trusted; its owner replaces it.
 */

import type { Async } from "../core/runner.ts";

/** A table of operations: what a worker can do. */
// deno-lint-ignore no-explicit-any
export type Ops = { [op: string]: (...args: any[]) => unknown };

/** The caller's view of an operation table: every operation answers asynchronously. */
export type Remote<O extends Ops> = Async<O>;

export interface InitMessage {
  type: "init";
  options: unknown;
}

export interface RequestMessage {
  type: "request";
  id: number;
  op: string;
  args: unknown[];
  /** Plain data naming what the operation works on (a job); the worker caches what it builds. */
  context?: unknown;
}

/** The worker may drop what it built for a context. */
export interface ReleaseMessage {
  type: "release";
  contextId: string;
}

export type ToWorker = InitMessage | RequestMessage | ReleaseMessage;

export type FromWorker =
  | { type: "ready"; info: unknown }
  | { type: "init-error"; error: string }
  | { type: "response"; id: number; ok: true; result: unknown }
  | {
    type: "response";
    id: number;
    ok: false;
    error: string;
    /** The context could not be built (its data cannot be read): retrying cannot help. */
    contextFailed?: boolean;
    /** The worker's runtime is broken: replace it. `faultAt`: when the request ended (epoch ms). */
    broken?: boolean;
    faultAt?: number;
  };

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export interface WorkerServer<Info, Context> {
  /** Runs once, before any request; its value is the `ready` answer. */
  init(options: unknown): Promise<Info> | Info;
  /** The operations for a request's context (undefined when the request carries none). */
  opsFor(context: Context | undefined): Promise<Ops> | Ops;
  /** Drops what was built for a context. */
  release?(contextId: string): void;
  /** Why this worker can no longer be trusted, if it cannot; checked after every request. */
  health?(): Promise<string | undefined> | string | undefined;
}

// The worker global scope, typed narrowly: worker files are checked with the window lib.
interface WorkerScope {
  postMessage(message: FromWorker): void;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
}

/** Serves operations on this worker thread: one message at a time, init first. */
export function serveOps<Info, Context>(server: WorkerServer<Info, Context>): void {
  const scope = self as unknown as WorkerScope;
  let ready = false;
  let queue: Promise<void> = Promise.resolve();
  const handle = async (msg: ToWorker): Promise<void> => {
    if (msg.type === "init") {
      try {
        const info = await server.init(msg.options);
        ready = true;
        scope.postMessage({ type: "ready", info });
      } catch (e) {
        scope.postMessage({ type: "init-error", error: errorMessage(e) });
      }
      return;
    }
    if (msg.type === "release") return server.release?.(msg.contextId);
    const answer = await run(msg);
    const endedAt = Date.now();
    const broken = await server.health?.();
    if (!broken) return scope.postMessage({ type: "response", id: msg.id, ...answer });
    // The result, if any, was computed on the broken runtime: it is not sent.
    const error = answer.ok ? broken : `${answer.error} (${broken})`;
    scope.postMessage({
      type: "response",
      id: msg.id,
      ok: false,
      error,
      broken: true,
      faultAt: endedAt,
    });
  };
  type Answer = { ok: true; result: unknown } | {
    ok: false;
    error: string;
    contextFailed?: boolean;
  };
  const run = async (msg: RequestMessage): Promise<Answer> => {
    let ops: Ops;
    try {
      if (!ready) throw new Error("the worker received a request before a successful init");
      ops = await server.opsFor(msg.context as Context | undefined);
    } catch (e) {
      return { ok: false, error: errorMessage(e), contextFailed: true };
    }
    try {
      const op = Object.hasOwn(ops, msg.op) ? ops[msg.op] : undefined;
      if (!op) throw new Error(`the worker has no operation '${msg.op}'`);
      return { ok: true, result: await op(...msg.args) };
    } catch (e) {
      return { ok: false, error: errorMessage(e) };
    }
  };
  scope.onmessage = (event) => {
    queue = queue.then(() => handle(event.data));
  };
}

/** Why a request did not answer with a result. */
export class RequestFailed extends Error {
  constructor(
    message: string,
    readonly contextFailed = false,
    /** The worker is broken (its answer says so), not only this request. */
    readonly broken = false,
    readonly faultAt?: number,
  ) {
    super(message);
    this.name = "RequestFailed";
  }
}

/**
 * One worker thread seen from the main thread: started and initialised, then asked one request
 * at a time. A worker that crashes, or sends what cannot be read, is lost: its request in flight
 * rejects and `onLost` says why; the owner decides whether to start another. Reasons are phrases
 * that follow the worker's name ("crashed: ...").
 */
export class WorkerClient {
  readonly #worker: Worker;
  #nextId = 1;
  #pending?: { id: number; resolve(v: unknown): void; reject(e: Error): void };
  #lost = false;
  /** Called once when the worker crashes or is terminated. */
  onLost?: (reason: string) => void;

  private constructor(url: string) {
    this.#worker = new Worker(url, { type: "module" });
  }

  /** Starts a worker and waits for its init to succeed; rejects with its reason if not. */
  static start<Info>(
    url: string,
    options: unknown,
  ): { client: WorkerClient; ready: Promise<Info> } {
    const client = new WorkerClient(url);
    const ready = new Promise<Info>((resolve, reject) => {
      const fail = (reason: string) => {
        client.#markLost();
        client.#worker.terminate();
        reject(new Error(reason));
      };
      client.#worker.onmessage = (event: MessageEvent<FromWorker>) => {
        const msg = event.data;
        if (msg.type === "ready") {
          client.#listen();
          resolve(msg.info as Info);
        } else if (msg.type === "init-error") fail(`failed to start: ${msg.error}`);
      };
      client.#worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        fail(`failed to start: ${event.message}`);
      };
      client.#worker.postMessage({ type: "init", options } satisfies ToWorker);
    });
    // A failed start is reported through `ready`; keep it from going unhandled elsewhere.
    ready.catch(() => {});
    return { client, ready };
  }

  get busy(): boolean {
    return this.#pending !== undefined;
  }

  get lost(): boolean {
    return this.#lost;
  }

  /** Sends one request; a worker runs one at a time, so callers wait for `busy` to clear. */
  call(op: string, args: unknown[], context?: unknown): Promise<unknown> {
    if (this.#lost) return Promise.reject(new RequestFailed("is gone"));
    if (this.#pending) return Promise.reject(new Error("the worker is busy"));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending = { id, resolve, reject };
      this.#worker.postMessage({ type: "request", id, op, args, context } satisfies ToWorker);
    });
  }

  release(contextId: string): void {
    if (!this.#lost) this.#worker.postMessage({ type: "release", contextId } satisfies ToWorker);
  }

  /** Stops the worker at once; a request in flight rejects with `reason`. */
  terminate(reason = "was terminated"): void {
    if (this.#lost) return;
    this.#worker.terminate();
    this.#lose(reason);
  }

  #listen(): void {
    this.#worker.onmessage = (event: MessageEvent<FromWorker>) => {
      const msg = event.data;
      const pending = this.#pending;
      if (msg.type !== "response" || !pending || msg.id !== pending.id) return;
      this.#pending = undefined;
      if (msg.ok) pending.resolve(msg.result);
      else {
        pending.reject(new RequestFailed(msg.error, msg.contextFailed, msg.broken, msg.faultAt));
      }
    };
    this.#worker.onerror = (event: ErrorEvent) => {
      // Handled here; otherwise Deno rethrows a worker's uncaught error on the main thread.
      event.preventDefault();
      this.#worker.terminate();
      this.#lose(`crashed: ${event.message}`);
    };
    this.#worker.onmessageerror = () => {
      this.#worker.terminate();
      this.#lose("sent an unreadable message");
    };
  }

  #markLost(): void {
    this.#lost = true;
    this.#worker.onmessage = null;
    this.#worker.onerror = null;
    this.#worker.onmessageerror = null;
  }

  #lose(reason: string): void {
    if (this.#lost) return;
    this.#markLost();
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.reject(new RequestFailed(reason));
    this.onLost?.(reason);
  }
}

/**
 * A typed view of an operation table through any sender, on top of `base`: each property of
 * `base` is itself, every other is an operation. The type comes from the table (`typeof` the
 * worker's ops); the sender decides where it runs.
 */
export function remote<O extends Ops, B extends object>(
  send: (op: string, args: unknown[]) => Promise<unknown>,
  base: B,
): Remote<O> & B {
  return new Proxy(base, {
    get: (target, op, receiver) => {
      if (Reflect.has(target, op)) return Reflect.get(target, op, receiver);
      // Not `then`: a remote must not look like a promise to `await`.
      if (typeof op !== "string" || op === "then") return undefined;
      return (...args: unknown[]) => send(op, args);
    },
  }) as Remote<O> & B;
}
