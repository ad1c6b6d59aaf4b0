/**
 * The service's log: one JSON object per line on stdout (`time`, `level`, `event`, then the
 * event's fields), for every HTTP request and every job transition, so that a log collector
 * needs no parser of ours. Lines below the configured level are dropped. Nothing secret is ever
 * passed in: requests are logged with the key's id, never its token.
 */
import { LOG_LEVELS, type LogLevel } from "./config.ts";

export type Fields = Record<string, string | number | boolean | null | undefined>;

export class Logger {
  readonly #min: number;

  constructor(
    level: LogLevel,
    private readonly write: (line: string) => void = (line) => console.log(line),
  ) {
    this.#min = LOG_LEVELS.indexOf(level);
  }

  #log(level: Exclude<LogLevel, "off">, event: string, fields: Fields): void {
    if (LOG_LEVELS.indexOf(level) < this.#min) return;
    this.write(JSON.stringify({ time: new Date().toISOString(), level, event, ...fields }));
  }

  debug(event: string, fields: Fields = {}): void {
    this.#log("debug", event, fields);
  }

  info(event: string, fields: Fields = {}): void {
    this.#log("info", event, fields);
  }

  warn(event: string, fields: Fields = {}): void {
    this.#log("warn", event, fields);
  }

  error(event: string, fields: Fields = {}): void {
    this.#log("error", event, fields);
  }
}
