/**
 * The one error type of the data layer, so that callers (the API, the CLI) can tell a user's
 * bad file apart from a bug and point at the offending cell.
 */
export class DataError extends Error {
  /**
   * For a parsed file: the 1-based line number in the file (the header is line 1). For an
   * in-memory dataset: the 1-based data row.
   */
  readonly row?: number;
  /** Column name, when one column is at fault. */
  readonly column?: string;
  /**
   * The file at fault, by its role (`file`, `features`, `images`, `labels`: core/data/formats.ts),
   * so that the service can point at the form or JSON field without reading the message.
   */
  readonly role?: string;
  /** The file is over a size limit (not malformed): the service answers 413. */
  readonly tooLarge?: boolean;

  constructor(
    message: string,
    where: { row?: number; column?: string; role?: string; tooLarge?: boolean } = {},
  ) {
    super(message);
    this.name = "DataError";
    if (where.row !== undefined) this.row = where.row;
    if (where.column !== undefined) this.column = where.column;
    if (where.role !== undefined) this.role = where.role;
    if (where.tooLarge) this.tooLarge = true;
  }
}

/** Runs `fn`; a DataError from it that names no file is said of `role`'s file. */
export async function inFile<T>(role: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (!(e instanceof DataError) || e.role !== undefined) throw e;
    throw new DataError(e.message, { row: e.row, column: e.column, role, tooLarge: e.tooLarge });
  }
}
