/**
 * Reading expressions back from text: a recursive-descent parser (never `eval`) for what
 * `toInfix` writes, and for the prefix calls `toPrefix` writes.
 *
 *   expression := term (("+" | "-") term)*        left-associative
 *   term       := factor ("*" factor)*            left-associative
 *   factor     := ["+" | "-"] number | "y" | "fx" | "f" "(" "x" ")"
 *               | name "(" expression ["," expression] ")" | "(" expression ")"
 *
 * The infix levels and the names are the registry's (core/expr/registry.ts): one level per
 * precedence, loosest first, each left-associative; a name is any op, with its arity.
 *
 * A sign is accepted only in front of a number literal: the tree has no negation op, and
 * reading `-y` as mul(-1, y) would invent structure the text did not state.
 *
 * Weighted infix (`toInfix(tree, phi)`) is not read back into (tree, phi): a coefficient
 * `0.5*y` is indistinguishable from a constant factor. It parses as a plain tree with those
 * constant factors, which evaluates to the same value as the weighted tree, up to the
 * rounding of the printed weights.
 */

import { ALL_OPS, OPS } from "./primitives.ts";
import { arity, isOpName, type Node, type Tree } from "./tree.ts";

export class ParseError extends Error {
  constructor(
    /** 0-based character offset of the offending token. */
    readonly position: number,
    /** What the parser would have accepted there. */
    readonly expected: string,
    /** The offending token, quoted, or `end of input`. */
    readonly found: string,
  ) {
    super(`at ${position}: expected ${expected} but found ${found}`);
    this.name = "ParseError";
  }
}

type TokenKind = "number" | "name" | "punct" | "end";

interface Token {
  kind: TokenKind;
  text: string;
  position: number;
}

const NUMBER = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
const INFIX = ALL_OPS.flatMap((op) => {
  const { symbol, precedence = 0 } = OPS[op];
  return symbol === undefined ? [] : [{ op, symbol, precedence }];
});
/** Infix ops by binding strength, loosest first: [[add, sub], [mul]]. */
const LEVELS = [...new Set(INFIX.map((i) => i.precedence))]
  .sort((p, q) => p - q)
  .map((p) => INFIX.filter((i) => i.precedence === p));
// Signs of number literals are + and - whatever the infix symbols are.
const PUNCT = [...new Set([...INFIX.map((i) => i.symbol), "+", "-", "(", ")", ","])];

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const rest = text.slice(i);
    const space = /^\s+/.exec(rest);
    if (space) {
      i += space[0].length;
      continue;
    }
    const number = NUMBER.exec(rest);
    const name = NAME.exec(rest);
    if (number) tokens.push({ kind: "number", text: number[0], position: i });
    else if (name) tokens.push({ kind: "name", text: name[0], position: i });
    else if (PUNCT.includes(rest[0])) tokens.push({ kind: "punct", text: rest[0], position: i });
    else throw new ParseError(i, `an operand or one of ${PUNCT.join(" ")}`, quote(rest[0]));
    i += tokens[tokens.length - 1].text.length;
  }
  tokens.push({ kind: "end", text: "", position: text.length });
  return tokens;
}

function quote(text: string): string {
  return `'${text}'`;
}

const OPERAND = "an operand (y, f(x), a number, a function call or '(')";

class Parser {
  #tokens: Token[];
  #at = 0;
  #out: Node[] = [];

  constructor(tokens: Token[]) {
    this.#tokens = tokens;
  }

  parse(): Tree {
    this.#expression();
    this.#expect("end", "", "end of input");
    return this.#out;
  }

  get #peek(): Token {
    return this.#tokens[this.#at];
  }

  #fail(expected: string): never {
    const t = this.#peek;
    throw new ParseError(t.position, expected, t.kind === "end" ? "end of input" : quote(t.text));
  }

  #accept(kind: TokenKind, text: string): boolean {
    const t = this.#peek;
    if (t.kind !== kind || (text !== "" && t.text !== text)) return false;
    this.#at++;
    return true;
  }

  #expect(kind: TokenKind, text: string, expected = quote(text)): void {
    if (!this.#accept(kind, text)) this.#fail(expected);
  }

  // Left-associative chains are built in prefix order by inserting the op in front of the
  // left operand already emitted: `a - b - c` becomes sub(sub(a, b), c).
  #expression(level = 0): void {
    if (level === LEVELS.length) return this.#factor();
    const start = this.#out.length;
    this.#expression(level + 1);
    for (;;) {
      const infix = LEVELS[level].find((i) => this.#accept("punct", i.symbol));
      if (infix === undefined) return;
      this.#out.splice(start, 0, infix.op);
      this.#expression(level + 1);
    }
  }

  #factor(): void {
    const t = this.#peek;
    if (t.kind === "punct" && (t.text === "-" || t.text === "+")) {
      this.#at++;
      const n = this.#peek;
      if (n.kind !== "number") this.#fail(`a number after '${t.text}'`);
      this.#at++;
      const value = Number(n.text);
      this.#out.push(t.text === "-" && value !== 0 ? -value : value);
    } else if (t.kind === "number") {
      this.#at++;
      this.#out.push(Number(t.text));
    } else if (this.#accept("punct", "(")) {
      this.#expression();
      this.#expect("punct", ")");
    } else if (t.kind === "name") {
      this.#name(t);
    } else {
      this.#fail(OPERAND);
    }
  }

  #name(t: Token): void {
    this.#at++;
    if (t.text === "y" || t.text === "fx") {
      this.#out.push(t.text);
    } else if (t.text === "f" && this.#peek.text === "(") {
      this.#at++;
      this.#expect("name", "x");
      this.#expect("punct", ")");
      this.#out.push("fx");
    } else if (isOpName(t.text)) {
      this.#out.push(t.text);
      this.#expect("punct", "(");
      this.#expression();
      if (arity(t.text) === 2) {
        this.#expect("punct", ",");
        this.#expression();
      }
      this.#expect("punct", ")");
    } else {
      this.#at--;
      this.#fail(OPERAND);
    }
  }
}

/** Parse infix (or prefix-call) text into a tree; throws `ParseError` on malformed input. */
export function parseInfix(text: string): Tree {
  return new Parser(tokenize(text)).parse();
}
