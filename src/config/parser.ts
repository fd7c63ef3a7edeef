/**
 * The parser: tokens -> a tree of statements. A statement is a keyword with the values that follow it on the
 * same logical line, and optionally a `{ ... }` block (whose `{` may also start the next line). It knows no
 * keyword; the meaning of each statement is the business of the sections (sections.ts).
 */
import { DiagnosticCodes, type DiagnosticSink } from './diagnostics.js';
import { isBrace, type Token } from './lexer.js';

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
  /** False when a brace was unbalanced: blocks may then hold what was meant to follow them. */
  balanced: boolean;
}

export function parse(tokens: Token[], sink: DiagnosticSink): ParseResult {
  const parser = new Parser(tokens, sink);
  const statements = parser.parseTop();
  return { statements, balanced: parser.balanced };
}

class Parser {
  private index = 0;
  balanced = true;

  constructor(
    private readonly tokens: Token[],
    private readonly sink: DiagnosticSink,
  ) {}

  parseTop(): Statement[] {
    const statements: Statement[] = [];
    while (this.index < this.tokens.length) {
      const token = this.tokens[this.index] as Token;
      if (isBrace(token, '}')) {
        this.sink.error(token.at, DiagnosticCodes.syntax, "unexpected '}' with no open block");
        this.balanced = false;
        this.index++;
        continue;
      }
      this.parseStatementInto(statements);
    }
    return statements;
  }

  private parseBlock(open: Token): Statement[] {
    const statements: Statement[] = [];
    while (true) {
      const token = this.tokens[this.index];
      if (token === undefined) {
        this.sink.error(open.at, DiagnosticCodes.syntax, "'{' is never closed");
        this.balanced = false;
        return statements;
      }
      if (isBrace(token, '}')) {
        this.index++;
        return statements;
      }
      this.parseStatementInto(statements);
    }
  }

  private parseStatementInto(statements: Statement[]): void {
    const keyword = this.tokens[this.index] as Token;
    this.index++;
    if (isBrace(keyword, '{')) {
      this.sink.error(keyword.at, DiagnosticCodes.syntax, "'{' without a keyword before it");
      this.parseBlock(keyword);
      return;
    }
    const args: Token[] = [];
    while (true) {
      const token = this.tokens[this.index];
      if (token === undefined || token.lineId !== keyword.lineId) break;
      if (isBrace(token, '{') || isBrace(token, '}')) break;
      args.push(token);
      this.index++;
    }
    const statement: Statement = { keyword, args };
    const next = this.tokens[this.index];
    // `{` on the same line, or first on the next line (`vrrp_instance VI_1` newline `{`).
    if (isBrace(next, '{') && next !== undefined) {
      const previousLineStart = this.index === 0 ? undefined : this.tokens[this.index - 1];
      const startsLine = previousLineStart === undefined || previousLineStart.lineId !== next.lineId;
      if (next.lineId === keyword.lineId || startsLine) {
        this.index++;
        statement.open = next;
        statement.block = this.parseBlock(next);
      }
    }
    statements.push(statement);
  }
}
