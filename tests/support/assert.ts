/** Assertions for Deno.test, built on node:assert (the Deno standard library is unreachable). */
import nodeAssert from "node:assert/strict";

// `as string`: with npm's Node types in the graph (pg-boss brings them), node:assert's overloads
// take a message or none, not a union; undefined means no message either way.

export function assert(condition: unknown, message?: string): asserts condition {
  nodeAssert.ok(condition, message as string);
}

export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, message as string);
}

export function assertLess(actual: number, limit: number, message?: string): void {
  nodeAssert.ok(actual < limit, `${actual} is not below ${limit}${message ? `: ${message}` : ""}`);
}

export function assertAlmostEquals(
  actual: number,
  expected: number,
  tolerance: number,
  message?: string,
): void {
  nodeAssert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${actual} differs from ${expected} by more than ${tolerance}${message ? `: ${message}` : ""}`,
  );
}

export async function assertRejects(fn: () => Promise<unknown>, pattern?: RegExp): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    if (pattern) nodeAssert.match(String((e as Error).message ?? e), pattern);
    return e as Error;
  }
  throw new nodeAssert.AssertionError({ message: "expected a rejection" });
}

export function assertThrows(fn: () => unknown, pattern?: RegExp): Error {
  try {
    fn();
  } catch (e) {
    if (pattern) nodeAssert.match(String((e as Error).message ?? e), pattern);
    return e as Error;
  }
  throw new nodeAssert.AssertionError({ message: "expected an exception" });
}
