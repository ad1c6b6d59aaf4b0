/**
 * The service's settings: each one a flag of `main.ts start` and an environment variable (the
 * flag wins), with the defaults of a safe local service. docs/service.md lists them; `USAGE`
 * below is the same list for `--help`.
 */
import { parseArgs } from "node:util";
import { BACKEND_CHOICES, type BackendChoice } from "../core/backends.ts";

export interface Limits {
  maxPopulation: number;
  maxGenerations: number;
  maxEvaluations: number;
  /** Longest time budget a search may ask for. */
  maxSeconds: number;
  maxFinalSteps: number;
  maxFinalSeeds: number;
  /** Request bodies (uploads included) and URL downloads. */
  maxUploadBytes: number;
  maxRows: number;
  /** Queued plus running searches per API key. */
  maxActiveJobsPerKey: number;
  /** Estimated memory of a search's model in one worker (core/model_size.ts). */
  maxModelBytes: number;
}

export interface ServiceConfig {
  host: string;
  port: number;
  /** SQLite file; uploaded files go beside it, in dataDir. */
  db: string;
  /** PostgreSQL instead of the SQLite file: any number of nodes share it. */
  databaseUrl?: string;
  dataDir: string;
  /** This process's name among the nodes of one database. */
  nodeId: string;
  /** How long a node holds a search or an evaluation without renewing its lease. */
  leaseMs: number;
  /** PostgreSQL: uploaded files in the database, or in dataDir shared by every node. */
  datasetFiles: "database" | "folder";
  workers: number;
  backend: BackendChoice;
  /** Searches that run at once (they share the worker pool fairly); the rest wait queued. */
  maxRunningJobs: number;
  limits: Limits;
  url: {
    timeoutMs: number;
    /** Allow URLs that resolve to loopback, private or link-local addresses. */
    allowPrivate: boolean;
  };
  /** On a database with no search yet, `deno task start` submits the embedded default search. */
  defaultSearch: boolean;
  memory: {
    /**
     * Bytes the whole service may hold (service/memory.ts shares them out: the runtime and
     * workers, the dataset inspections, and each running search); 0 turns the check off.
     */
    limitBytes: number;
  };
  /** Dataset uploads and registrations read and inspected at once; more wait, up to `queue`. */
  inspections: { concurrent: number; queue: number };
  /** Open event streams, per key and in all. */
  streams: { perKey: number; total: number };
  http: {
    /**
     * Host names (besides loopback names) a request may be addressed to; in local mode any other
     * Host is refused, so a DNS name rebound to 127.0.0.1 reaches nothing.
     */
    publicNames: string[];
    /** Origins whose pages may call the API (CORS); other cross-site requests are refused. */
    corsOrigins: string[];
  };
  /** Log lines at or above this level go to stdout, one JSON object each. */
  logLevel: LogLevel;
  /** Finished searches are deleted this many days after they ended; 0 keeps them. */
  retentionDays: number;
}

export const LOG_LEVELS = ["debug", "info", "warn", "error", "off"] as const;
export type LogLevel = typeof LOG_LEVELS[number];

export const DEFAULT_LIMITS: Limits = {
  maxPopulation: 200,
  maxGenerations: 1000,
  maxEvaluations: 100_000,
  maxSeconds: 7 * 24 * 3600,
  maxFinalSteps: 200_000,
  maxFinalSeeds: 20,
  maxUploadBytes: 64 * 1024 * 1024,
  maxRows: 1_000_000,
  maxActiveJobsPerKey: 8,
  // Half of what the wasm backend's heap can grow to (4 GiB): room for the rest of the worker.
  maxModelBytes: 2 * 1024 ** 3,
};

/** Flag name, environment variable, and what it sets. */
const SETTINGS = [
  ["port", "PORT", "port to listen on (default 8000; 0 picks a free one)"],
  ["host", "LOSSMITH_HOST", "address to listen on (default 127.0.0.1; others need API keys)"],
  ["db", "LOSSMITH_DB", "SQLite database file (default ./lossmith.sqlite)"],
  [
    "database-url",
    "LOSSMITH_DATABASE_URL",
    "postgres://... : nodes sharing one PostgreSQL database (default: the SQLite file)",
  ],
  ["data-dir", "LOSSMITH_DATA_DIR", "where uploaded files are kept (default DB + '.files')"],
  ["node-id", "LOSSMITH_NODE_ID", "this node's name among the nodes (default host-random)"],
  ["lease", "LOSSMITH_LEASE_S", "seconds a node holds work unrenewed (default 30; >= 10)"],
  [
    "dataset-files",
    "LOSSMITH_DATASET_FILES",
    "PostgreSQL: database|folder, where every node reads uploads (default database)",
  ],
  ["workers", "LOSSMITH_WORKERS", "evaluation workers (default: number of cores)"],
  ["backend", "LOSSMITH_BACKEND", `tensor backend: ${BACKEND_CHOICES.join("|")} (default auto)`],
  ["max-running", "LOSSMITH_MAX_RUNNING", "searches running at once (default 4)"],
  ["max-jobs-per-key", "LOSSMITH_MAX_JOBS_PER_KEY", "queued + running searches per key (8)"],
  ["max-population", "LOSSMITH_MAX_POPULATION", "largest population (default 200)"],
  ["max-generations", "LOSSMITH_MAX_GENERATIONS", "most generations (default 1000)"],
  ["max-upload-bytes", "LOSSMITH_MAX_UPLOAD_BYTES", "largest upload or download (64 MiB)"],
  ["max-rows", "LOSSMITH_MAX_ROWS", "most rows in a dataset (default 1000000)"],
  [
    "max-model-bytes",
    "LOSSMITH_MAX_MODEL_BYTES",
    "largest estimated memory of a search's model per worker (default 2 GiB)",
  ],
  ["url-timeout", "LOSSMITH_URL_TIMEOUT_S", "seconds allowed to download a URL (default 30)"],
  [
    "allow-private-urls",
    "LOSSMITH_ALLOW_PRIVATE_URLS",
    "allow dataset URLs on loopback/private/link-local addresses (default false)",
  ],
  [
    "default-search",
    "LOSSMITH_DEFAULT_SEARCH",
    "on a new database, run the default search: MNIST, MLP, 12 x 8 (default true)",
  ],
  [
    "memory-limit",
    "LOSSMITH_MEMORY_LIMIT",
    "bytes the service may hold in all (default half the machine's; 0: no check)",
  ],
  ["max-inspections", "LOSSMITH_MAX_INSPECTIONS", "dataset uploads read at once (default 2)"],
  ["inspection-queue", "LOSSMITH_INSPECTION_QUEUE", "uploads waiting for one (default 8)"],
  ["max-streams-per-key", "LOSSMITH_MAX_STREAMS_PER_KEY", "open event streams per key (16)"],
  ["max-streams", "LOSSMITH_MAX_STREAMS", "open event streams in all (default 128)"],
  ["public-name", "LOSSMITH_PUBLIC_NAME", "host names requests may use, comma-separated"],
  ["cors-origins", "LOSSMITH_CORS_ORIGINS", "origins whose pages may call the API (CORS)"],
  ["log-level", "LOSSMITH_LOG_LEVEL", `${LOG_LEVELS.join("|")} (default info)`],
  [
    "retention-days",
    "LOSSMITH_RETENTION_DAYS",
    "delete finished searches this many days after they end (default 0: keep them)",
  ],
] as const;

export const USAGE = `Usage: deno task start [flags]

Runs the Lossmith service. Every flag has an environment variable; the flag wins.

${
  SETTINGS.map(([flag, env, what]) => `  --${flag.padEnd(20)} ${env.padEnd(28)} ${what}`).join("\n")
}
`;

function integer(name: string, text: string | undefined, fallback: number, min = 0): number {
  if (text === undefined || text === "") return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) {
    throw new Error(`${name} must be an integer >= ${min}, got '${text}'`);
  }
  return n;
}

function boolean(name: string, text: string | undefined, fallback = false): boolean {
  if (text === undefined || text === "") return fallback;
  if (/^(1|true|yes|on)$/i.test(text)) return true;
  if (/^(0|false|no|off)$/i.test(text)) return false;
  throw new Error(`${name} must be true or false, got '${text}'`);
}

/** Settings from flags and environment (`env` is injectable for tests). */
export function loadConfig(
  argv: string[],
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): ServiceConfig | "help" {
  const options = Object.fromEntries(
    SETTINGS.map(([flag]) => [flag, { type: "string" as const }]),
  );
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { ...options, help: { type: "boolean" } },
  });
  if (values.help) return "help";
  const v = (flag: typeof SETTINGS[number][0]): string | undefined => {
    const entry = SETTINGS.find(([f]) => f === flag)!;
    return (values as Record<string, string | undefined>)[flag] ?? env(entry[1]);
  };
  const db = v("db") || "lossmith.sqlite";
  const backend = (v("backend") || "auto") as BackendChoice;
  if (!BACKEND_CHOICES.includes(backend)) {
    throw new Error(`backend must be one of ${BACKEND_CHOICES.join(", ")}, got '${backend}'`);
  }
  const cores = Math.max(1, navigator.hardwareConcurrency || 1);
  const databaseUrl = v("database-url") || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new Error(`database-url must be a postgres:// URL, got '${databaseUrl}'`);
  }
  const datasetFiles = v("dataset-files") || "database";
  if (datasetFiles !== "database" && datasetFiles !== "folder") {
    throw new Error(`dataset-files must be database or folder, got '${datasetFiles}'`);
  }
  return {
    host: v("host") || "127.0.0.1",
    port: integer("port", v("port"), 8000),
    db,
    databaseUrl,
    dataDir: v("data-dir") || `${db}.files`,
    nodeId: v("node-id") || defaultNodeId(),
    leaseMs: 1000 * integer("lease", v("lease"), 30, 10),
    datasetFiles,
    workers: integer("workers", v("workers"), cores, 1),
    backend,
    maxRunningJobs: integer("max-running", v("max-running"), 4, 1),
    limits: {
      ...DEFAULT_LIMITS,
      maxActiveJobsPerKey: integer(
        "max-jobs-per-key",
        v("max-jobs-per-key"),
        DEFAULT_LIMITS.maxActiveJobsPerKey,
        1,
      ),
      maxPopulation: integer(
        "max-population",
        v("max-population"),
        DEFAULT_LIMITS.maxPopulation,
        1,
      ),
      maxGenerations: integer(
        "max-generations",
        v("max-generations"),
        DEFAULT_LIMITS.maxGenerations,
        1,
      ),
      maxUploadBytes: integer(
        "max-upload-bytes",
        v("max-upload-bytes"),
        DEFAULT_LIMITS.maxUploadBytes,
        1,
      ),
      maxRows: integer("max-rows", v("max-rows"), DEFAULT_LIMITS.maxRows, 10),
      maxModelBytes: integer(
        "max-model-bytes",
        v("max-model-bytes"),
        DEFAULT_LIMITS.maxModelBytes,
        1,
      ),
    },
    url: {
      timeoutMs: 1000 * integer("url-timeout", v("url-timeout"), 30, 1),
      allowPrivate: boolean("allow-private-urls", v("allow-private-urls")),
    },
    defaultSearch: boolean("default-search", v("default-search"), true),
    memory: { limitBytes: integer("memory-limit", v("memory-limit"), defaultMemoryLimit()) },
    inspections: {
      concurrent: integer("max-inspections", v("max-inspections"), 2, 1),
      queue: integer("inspection-queue", v("inspection-queue"), 8),
    },
    streams: {
      perKey: integer("max-streams-per-key", v("max-streams-per-key"), 16, 1),
      total: integer("max-streams", v("max-streams"), 128, 1),
    },
    http: {
      publicNames: list(v("public-name")).map((n) => n.toLowerCase()),
      corsOrigins: list(v("cors-origins")).map(origin),
    },
    logLevel: oneOf("log-level", v("log-level"), LOG_LEVELS, "info"),
    retentionDays: integer("retention-days", v("retention-days"), 0, 0),
  };
}

/** What the service may hold in all when the machine's memory cannot be read. */
export const DEFAULT_MEMORY_LIMIT = 8 * 2 ** 30;

/** Half the machine's memory (a service shares its host), or 8 GiB without --allow-sys. */
function defaultMemoryLimit(): number {
  try {
    return Math.floor(Deno.systemMemoryInfo().total / 2);
  } catch {
    return DEFAULT_MEMORY_LIMIT;
  }
}

function list(text: string | undefined): string[] {
  return (text ?? "").split(",").map((t) => t.trim()).filter((t) => t !== "");
}

/** An origin as browsers send it: scheme, host and port, no path. */
function origin(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`cors-origins: '${text}' is not an origin such as https://app.example`);
  }
  if (url.origin === "null" || url.pathname !== "/" && url.pathname !== "") {
    throw new Error(`cors-origins: '${text}' is not an origin such as https://app.example`);
  }
  return url.origin;
}

function oneOf<const T extends string>(
  name: string,
  text: string | undefined,
  values: readonly T[],
  fallback: T,
): T {
  if (text === undefined || text === "") return fallback;
  if (!(values as readonly string[]).includes(text)) {
    throw new Error(`${name} must be one of ${values.join(", ")}, got '${text}'`);
  }
  return text as T;
}

/** The host's name and a random suffix: unique among the nodes of a database. */
export function defaultNodeId(): string {
  let host = "node";
  try {
    host = Deno.hostname();
  } catch {
    // No --allow-sys: the random part alone tells nodes apart.
  }
  const suffix = Array.from(
    crypto.getRandomValues(new Uint8Array(3)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
  return `${host}-${suffix}`;
}

/** Loopback names and addresses: the only ones the service listens on without API keys. */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\./.test(host);
}
