/**
 * Errors the service raises for its callers to show: what kind of failure (the API maps each kind
 * to an HTTP status and an RFC 9457 problem type), a title, a detail that says what to change,
 * and for invalid input the field at fault (a JSON pointer into the request body, or a
 * parameter name) or the row and column of a data file.
 */

export type ErrorKind =
  | "invalid" // the request is well-formed but its content cannot be accepted
  | "not-found"
  | "conflict" // the resource's state forbids it (deleting a dataset a running search uses)
  | "limit" // a configured limit, named in the detail
  | "too-large" // a body or download over the size limit
  | "unauthorized"
  | "unavailable"; // the service is shutting down or has no worker

export interface FieldError {
  detail: string;
  /** JSON pointer into the request body (RFC 6901). */
  pointer?: string;
  /** A query, path or header parameter, or a form field. */
  parameter?: string;
  /** For data files: 1-based line (header is line 1) and column name. */
  row?: number;
  column?: string;
}

export class ServiceError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly title: string,
    detail: string,
    readonly errors: FieldError[] = [],
    /** For a limit or unavailability: seconds after which trying again may succeed. */
    readonly retryAfter?: number,
  ) {
    super(detail);
    this.name = "ServiceError";
  }

  get detail(): string {
    return this.message;
  }
}

export function invalid(detail: string, field: Omit<FieldError, "detail"> = {}): ServiceError {
  return new ServiceError("invalid", "Invalid request", detail, [{ detail, ...field }]);
}

export function notFound(what: string, id: string): ServiceError {
  return new ServiceError("not-found", "Not found", `no ${what} with id ${id}`);
}
