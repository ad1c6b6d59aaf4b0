/**
 * RFC 4180 record splitting: quoted fields may hold the delimiter, line breaks and doubled
 * quotes (""). Lenient where the RFC is silent: LF, CRLF and CR all end a record, a quote
 * inside an unquoted field is kept as a literal, and blank lines are skipped.
 */

import { DataError } from "./errors.ts";

export interface DelimitedRecord {
  fields: string[];
  /** 1-based line on which the record starts (quoted line breaks advance the count). */
  line: number;
}

const QUOTE = 34; // "
const LF = 10;
const CR = 13;

export function tokenize(text: string, delimiter: string): DelimitedRecord[] {
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === "\n" || delimiter === "\r") {
    throw new DataError(`invalid delimiter ${JSON.stringify(delimiter)}`);
  }
  const delim = delimiter.charCodeAt(0);
  const len = text.length;
  const out: DelimitedRecord[] = [];
  let i = 0;
  let line = 1;
  while (i < len) {
    const start = line;
    const fields: string[] = [];
    let sawQuote = false;
    for (;;) {
      let field: string;
      if (text.charCodeAt(i) === QUOTE) {
        sawQuote = true;
        [field, i, line] = readQuoted(text, i, line);
        const c = i < len ? text.charCodeAt(i) : -1;
        if (c !== -1 && c !== delim && c !== LF && c !== CR) {
          throw new DataError(
            `unexpected ${JSON.stringify(text[i])} after a closing quote (RFC 4180 quoting)`,
            { row: line },
          );
        }
      } else {
        let j = i;
        for (; j < len; j++) {
          const c = text.charCodeAt(j);
          if (c === delim || c === LF || c === CR) break;
        }
        field = text.slice(i, j);
        i = j;
      }
      fields.push(field);
      if (i >= len) break;
      if (text.charCodeAt(i) === delim) {
        // Even at the end of the text a delimiter opens one more (empty) field.
        i++;
        continue;
      }
      i += text.charCodeAt(i) === CR && text.charCodeAt(i + 1) === LF ? 2 : 1;
      line++;
      break;
    }
    const blank = !sawQuote && fields.length === 1 && fields[0].trim() === "";
    if (!blank) out.push({ fields, line: start });
  }
  return out;
}

/** Reads a quoted field starting at the opening quote; returns [value, next index, line]. */
function readQuoted(text: string, i: number, line: number): [string, number, number] {
  const openLine = line;
  let value = "";
  let seg = i + 1;
  for (;;) {
    const q = text.indexOf('"', seg);
    if (q < 0) {
      throw new DataError("unterminated quoted field (missing closing quote)", { row: openLine });
    }
    line += countLineBreaks(text, seg, q);
    if (text.charCodeAt(q + 1) === QUOTE) {
      value += text.slice(seg, q + 1);
      seg = q + 2;
      continue;
    }
    value += text.slice(seg, q);
    return [value, q + 1, line];
  }
}

function countLineBreaks(text: string, from: number, to: number): number {
  let n = 0;
  for (let k = from; k < to; k++) {
    const c = text.charCodeAt(k);
    if (c === LF || (c === CR && text.charCodeAt(k + 1) !== LF)) n++;
  }
  return n;
}

/** "\t" when the first line has more tabs than commas (outside quotes), else ",". */
export function detectDelimiter(text: string): "," | "\t" {
  let commas = 0;
  let tabs = 0;
  let inQuotes = false;
  for (let k = 0; k < text.length; k++) {
    const ch = text[k];
    if (ch === '"') inQuotes = !inQuotes;
    else if (!inQuotes && (ch === "\n" || ch === "\r")) break;
    else if (!inQuotes && ch === ",") commas++;
    else if (!inQuotes && ch === "\t") tabs++;
  }
  return tabs > commas ? "\t" : ",";
}
