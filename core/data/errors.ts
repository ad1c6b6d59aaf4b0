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

  constructor(message: string, where: { row?: number; column?: string } = {}) {
    super(message);
    this.name = "DataError";
    if (where.row !== undefined) this.row = where.row;
    if (where.column !== undefined) this.column = where.column;
  }
}
