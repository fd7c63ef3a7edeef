/**
 * The parser: tokens -> a tree of statements. A statement is a keyword with the values that follow it on the
 * same logical line, and optionally a `{ ... }` block (whose `{` may also start the next line). It knows no
 * keyword; the meaning of each statement is the business of the sections (keywords.ts).
 *
 * It is iterative (an explicit stack of open blocks, not recursion), so that no nesting can exhaust the call
 * stack, and it bounds nesting at MAX_BLOCK_DEPTH with an error at the `{` that passes the bound. It yields to
 * the event loop every few thousand tokens: the agent parses on reload while it sends adverts.
 */
import { setImmediate as nextTick } from 'node:timers/promises';
import { DiagnosticCodes, type DiagnosticSink } from './diagnostics.js';
import { isBrace, type Token } from './lexer.js';

/**
 * Blocks inside blocks. keepalived's deepest real nesting is 4 (virtual_server { real_server { HTTP_GET { url
 * { } } } }); tandem's sections nest 2 deep. 32 leaves room for anything legitimate.
 */
export const MAX_BLOCK_DEPTH = 32;

/** Tokens handled between two yields to the event loop. */
const TOKENS_PER_SLICE = 20000;

export interface Statement {
  keyword: Token;
  args: Token[];
  /** The statements between the braces, if the statement has a block. */
  block?: Statement[];
  /** The `{` of the block, for messages about the block as a whole. */
  open?: Token;
}

export interface ParseResult {
  statements: Statement[];
  /** False when a brace was unbalanced or nesting too deep: blocks may then hold what was meant to follow them. */
  balanced: boolean;
}

/** An open block: where its statements go, and its `{` (undefined for the top level). */
interface Frame {
  statements: Statement[];
  open?: Token;
}

export async function parse(tokens: Token[], sink: DiagnosticSink): Promise<ParseResult> {
  const top: Statement[] = [];
  const stack: Frame[] = [{ statements: top }];
  let balanced = true;
  let index = 0;
  let sinceYield = 0;
  while (index < tokens.length) {
    if (++sinceYield >= TOKENS_PER_SLICE) {
      sinceYield = 0;
      await nextTick();
    }
    const token = tokens[index] as Token;
    const frame = stack[stack.length - 1] as Frame;
    if (isBrace(token, '}')) {
      index++;
      if (stack.length > 1) stack.pop();
      else {
        sink.error(token.at, DiagnosticCodes.syntax, "unexpected '}' with no open block");
        balanced = false;
      }
      continue;
    }
    let open: Token | undefined;
    let statements: Statement[];
    if (isBrace(token, '{')) {
      // Its block is parsed (and reported) but belongs to nothing.
      sink.error(token.at, DiagnosticCodes.syntax, "'{' without a keyword before it");
      index++;
      open = token;
      statements = [];
    } else {
      const keyword = token;
      index++;
      const args: Token[] = [];
      while (true) {
        const next = tokens[index];
        if (next === undefined || next.lineId !== keyword.lineId) break;
        if (isBrace(next, '{') || isBrace(next, '}')) break;
        args.push(next);
        index++;
      }
      const statement: Statement = { keyword, args };
      frame.statements.push(statement);
      const next = tokens[index];
      // `{` on the same line, or first on the next line (`vrrp_instance VI_1` newline `{`).
      const previous = tokens[index - 1];
      if (next === undefined || !isBrace(next, '{')) continue;
      const startsLine = previous === undefined || previous.lineId !== next.lineId;
      if (next.lineId !== keyword.lineId && !startsLine) continue;
      index++;
      open = next;
      statement.open = next;
      statement.block = [];
      statements = statement.block;
    }
    if (stack.length > MAX_BLOCK_DEPTH) {
      sink.error(
        open.at,
        DiagnosticCodes.limit,
        `blocks nest deeper than ${MAX_BLOCK_DEPTH} levels; this block and everything in it is skipped`,
      );
      balanced = false;
      index = skipBlock(tokens, index);
      continue;
    }
    stack.push({ statements, open });
  }
  for (let depth = stack.length - 1; depth >= 1; depth--) {
    const open = stack[depth]?.open;
    if (open !== undefined) sink.error(open.at, DiagnosticCodes.syntax, "'{' is never closed");
    balanced = false;
  }
  return { statements: top, balanced };
}

/** The index after the `}` that closes a block whose `{` is just before `index` (or the end of the tokens). */
function skipBlock(tokens: Token[], index: number): number {
  let depth = 1;
  while (index < tokens.length && depth > 0) {
    const token = tokens[index];
    if (isBrace(token, '{')) depth++;
    else if (isBrace(token, '}')) depth--;
    index++;
  }
  return index;
}
