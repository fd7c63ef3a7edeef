/**
 * What a keyword handler uses to read its values: each reader reports a precise diagnostic at the token at
 * fault and returns undefined, so a handler simply skips what did not parse and the loader goes on.
 */
import { DiagnosticCodes, type DiagnosticSink, type Position } from './diagnostics.js';
import type { Token } from './lexer.js';
import type { Statement } from './parser.js';
import {
  familyName,
  isInterfaceName,
  INTERFACE_NAME_MAX,
  parseAddress,
  parseBool,
  parseDecimal,
  parseInteger,
  parsePrefix,
  type ParsedAddress,
  type ParsedPrefix,
} from './values.js';
import type { Family, UnimplementedUse } from './schema.js';
import { isNotImplementedYet, type Support } from './support.js';

export class Context {
  /** Uses of what is not implemented yet, in the order met (TandemConfig.unimplemented). */
  readonly unimplemented: UnimplementedUse[] = [];

  constructor(readonly sink: DiagnosticSink) {}

  /** Records `use` when `support` (the level of its keyword in the table) is "not implemented yet". */
  recordUnimplemented(support: Support, use: UnimplementedUse): void {
    if (isNotImplementedYet(support)) this.unimplemented.push(use);
  }

  error(at: Position, message: string): void {
    this.sink.error(at, DiagnosticCodes.value, message);
  }

  /** Checks the number of values; `usage` is shown as the expected form. */
  args(statement: Statement, min: number, max: number, usage: string): boolean {
    const { keyword, args } = statement;
    if (args.length < min) {
      this.sink.error(
        keyword.at,
        DiagnosticCodes.value,
        `'${keyword.text}' needs ${min === max ? min : `at least ${min}`} value${min === 1 ? '' : 's'} (${usage})`,
      );
      return false;
    }
    const extra = args[max];
    if (extra !== undefined) {
      this.sink.error(
        extra.at,
        DiagnosticCodes.value,
        `unexpected '${extra.text}' after '${keyword.text}' (${usage})`,
      );
      return false;
    }
    return true;
  }

  noBlock(statement: Statement): boolean {
    if (statement.block !== undefined && statement.open !== undefined) {
      this.sink.error(
        statement.open.at,
        DiagnosticCodes.syntax,
        `'${statement.keyword.text}' takes no block`,
      );
      return false;
    }
    return true;
  }

  needBlock(statement: Statement): statement is Statement & { block: Statement[] } {
    if (statement.block === undefined) {
      this.sink.error(
        statement.keyword.at,
        DiagnosticCodes.syntax,
        `'${statement.keyword.text}' needs a block: ${statement.keyword.text} { ... }`,
      );
      return false;
    }
    return true;
  }

  integer(token: Token, min: number, max: number, what: string): number | undefined {
    const value = parseInteger(token.text);
    if (value === undefined || value < min || value > max) {
      this.error(token.at, `${what} must be an integer from ${min} to ${max}, found '${token.text}'`);
      return undefined;
    }
    return value;
  }

  decimal(token: Token, min: number, max: number, what: string): number | undefined {
    const value = parseDecimal(token.text);
    if (value === undefined || value < min || value > max) {
      this.error(
        token.at,
        `${what} must be a number of seconds from ${min} to ${max}, found '${token.text}'`,
      );
      return undefined;
    }
    return value;
  }

  /** keepalived's optional <BOOL>: absent means true. */
  optionalBool(statement: Statement): boolean | undefined {
    if (!this.args(statement, 0, 1, `${statement.keyword.text} [on|off|true|false|yes|no]`)) return undefined;
    const token = statement.args[0];
    if (token === undefined) return true;
    const value = parseBool(token.text);
    if (value === undefined) {
      this.error(
        token.at,
        `${statement.keyword.text} must be one of on, off, true, false, yes, no, found '${token.text}'`,
      );
    }
    return value;
  }

  /** A flag keyword that takes no value. */
  flag(statement: Statement): boolean {
    return this.noBlock(statement) && this.args(statement, 0, 0, statement.keyword.text);
  }

  address(token: Token, what: string, family?: Family): ParsedAddress | undefined {
    const parsed = parseAddress(token.text);
    if (parsed === undefined) {
      this.error(token.at, `${what} must be an IPv4 or IPv6 address, found '${token.text}'`);
      return undefined;
    }
    if (family !== undefined && parsed.family !== family) {
      this.sink.error(
        token.at,
        DiagnosticCodes.conflict,
        `${what} ${parsed.address} is ${familyName(parsed.family)} but the instance is ${familyName(family)}`,
      );
      return undefined;
    }
    return parsed;
  }

  prefix(token: Token, what: string): ParsedPrefix | undefined {
    const parsed = parsePrefix(token.text);
    if (parsed === undefined) {
      this.error(
        token.at,
        `${what} must be an IPv4 or IPv6 address with an optional /prefix-length, found '${token.text}'`,
      );
    }
    return parsed;
  }

  interfaceName(token: Token, what: string): string | undefined {
    if (!isInterfaceName(token.text)) {
      this.error(
        token.at,
        `${what} must be an interface name of 1 to ${INTERFACE_NAME_MAX} characters without '/' or spaces, found '${token.text}'`,
      );
      return undefined;
    }
    return token.text;
  }
}
