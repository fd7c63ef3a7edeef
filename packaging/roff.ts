/**
 * Markdown to man(7) roff, for the man pages made from docs/. marked parses the Markdown (a solved problem);
 * the roff is written here because the renderers on the npm registry did not fit these docs: remark-man puts
 * a table's cells on one line each, so the paragraph-long cells of our tables run hundreds of columns wide,
 * and marked-man turns every source line break into `.br`, stamps the day's date (so regenerating would never
 * be diff-free) and patches marked's parser globally. Here tables become tbl(1) text blocks that wrap, the
 * output depends only on the input, and anything the converter does not know is an error rather than a
 * silently dropped paragraph.
 */
import { Lexer, type Token, type Tokens } from 'marked';
import { TandemError } from '../src/errors.js';

export class RoffError extends TandemError {
  constructor(message: string) {
    super('TANDEM_EROFF', message);
  }
}

export interface RenderContext {
  /** Heading depth that becomes `.SH` (the next one down becomes `.SS`; deeper ones bold paragraphs). */
  sectionDepth: number;
  /** How a link to another document reads, e.g. `config.md` -> `tandem.conf(5)`; unknown ones keep their text. */
  linkTarget: (href: string) => string | undefined;
}

/** Any character outside printable ASCII as a groff glyph, so the page is ASCII whatever the locale. */
function glyphs(text: string): string {
  return text.replace(/[^\x20-\x7e\n\t]/gu, (character) => {
    const code = character.codePointAt(0) ?? 0x3f;
    return `\\[u${code.toString(16).toUpperCase().padStart(4, '0')}]`;
  });
}

/** Text for a filled line: backslashes made literal, then non-ASCII as glyphs. */
function escapeText(text: string): string {
  return glyphs(text.replace(/\\/g, '\\e'));
}

/** Literal text (code): as escapeText, and `-` as the ASCII minus so a command copied from the page works. */
function escapeLiteral(text: string): string {
  return escapeText(text).replace(/-/g, '\\-');
}

/** A line that starts with `.` or `'` would be read as a request: guard it with the zero-width `\&`. */
function guardLines(text: string): string {
  return text
    .split('\n')
    .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line))
    .join('\n');
}

function decodeEntities(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

function plain(tokens: readonly Token[] | undefined): string {
  return (tokens ?? [])
    .map((token) => {
      if ('tokens' in token && Array.isArray(token.tokens)) return plain(token.tokens as Token[]);
      return 'text' in token && typeof token.text === 'string' ? decodeEntities(token.text) : '';
    })
    .join('');
}

function inline(tokens: readonly Token[] | undefined, context: RenderContext): string {
  return (tokens ?? []).map((token) => inlineToken(token, context)).join('');
}

function inlineToken(token: Token, context: RenderContext): string {
  switch (token.type) {
    case 'text':
      return 'tokens' in token && token.tokens
        ? inline(token.tokens, context)
        : escapeText(decodeEntities(token.text));
    case 'escape':
      return escapeText(token.text);
    case 'codespan':
      // `\\%`: never hyphenate a keyword or a command where the line breaks.
      return `\\fB\\%${escapeLiteral(decodeEntities(token.text))}\\fP`;
    case 'strong':
      return `\\fB${inline(token.tokens, context)}\\fP`;
    case 'em':
      return `\\fI${inline(token.tokens, context)}\\fP`;
    case 'del':
      return inline(token.tokens, context);
    case 'br':
      return '\n.br\n';
    case 'link': {
      const link = token as Tokens.Link;
      const text = inline(link.tokens, context);
      if (link.href.startsWith('#')) return text;
      if (/^[a-z]+:/.test(link.href)) return `${text} <${escapeLiteral(link.href)}>`;
      const target = context.linkTarget(link.href);
      if (target === undefined) return text;
      return plain(link.tokens) === link.href.replace(/#.*/, '') ? target : `${text} (${target})`;
    }
    case 'html':
      return escapeText(decodeEntities(token.text.replace(/<[^>]*>/g, '')));
    default:
      throw new RoffError(`expected an inline Markdown element the man pages support, found '${token.type}'`);
  }
}

/** Filled text: indentation dropped (a leading space would break the line in roff), request lines guarded. */
function fill(text: string): string {
  return guardLines(
    text
      .trim()
      .split('\n')
      .map((line) => line.trimStart())
      .join('\n'),
  );
}

function paragraph(text: string): string {
  return `.PP\n${fill(text)}\n`;
}

function codeBlock(text: string): string {
  return `.PP\n.RS 4\n.nf\n${guardLines(escapeLiteral(text))}\n.fi\n.RE\n`;
}

/** A column is set as a wrapping text block when some cell in it is longer than this. */
const NARROW_COLUMN = 24;

/** Tables with more columns than this become a list of entries (six columns do not fit 80 characters). */
const MAX_TABLE_COLUMNS = 3;

/**
 * A wide table as a list of entries, the first cell as the tag. When the last column carries the most text (the
 * meaning, in a keyword table) it is the entry's paragraph and the cells between follow as `header: value`;
 * otherwise every cell is a `header: value` line.
 */
function entryList(token: Tokens.Table, context: RenderContext): string {
  const total = (column: number) =>
    token.rows.reduce((sum, row) => sum + plain(row[column]?.tokens).length, 0);
  const lastColumn = token.header.length - 1;
  const describedByLast = token.header.every(
    (_, column) => column === 0 || total(column) <= total(lastColumn),
  );
  const field = (row: Tokens.TableCell[], column: number) => {
    const value = inline(row[column]?.tokens, context);
    return value.trim() === '' ? [] : [`${escapeText(plain(token.header[column]?.tokens))}: ${value}`];
  };
  return token.rows
    .map((row) => {
      const middle = token.header.slice(1, describedByLast ? lastColumn : undefined);
      const fields = middle.flatMap((_, index) => field(row, index + 1));
      const body = describedByLast ? [inline(row[lastColumn]?.tokens, context), fields.join('; ')] : fields;
      const text = body.filter((part) => part.trim() !== '').map(fill);
      return `.TP\n${fill(inline(row[0]?.tokens, context))}\n${text.join('\n.br\n')}\n`;
    })
    .join('');
}

/** tbl: narrow columns as they are, wide ones as text blocks (`T{ ... T}`) in expanding columns that wrap. */
function table(token: Tokens.Table, context: RenderContext): string {
  const rows = [token.header, ...token.rows];
  const wide = token.header.map((_, column) =>
    rows.some((row) => plain(row[column]?.tokens).length > NARROW_COLUMN),
  );
  // Two wrapping columns squeeze each other until long words stick out of the box.
  if (token.header.length > MAX_TABLE_COLUMNS || wide.filter(Boolean).length > 1)
    return `.PP\n${entryList(token, context)}`;
  const cell = (content: string, column: number) =>
    wide[column] ? `T{\n${fill(content)}\nT}` : fill(content).replace(/\n/g, ' ');
  const format = (bold: boolean) => wide.map((isWide) => `l${bold ? 'b' : ''}${isWide ? 'x' : ''}`).join(' ');
  const lines = [
    '.TS',
    'allbox;',
    format(true),
    `${format(false)}.`,
    token.header.map((header, column) => cell(escapeText(plain(header.tokens)), column)).join('\t'),
    ...token.rows.map((row) =>
      row.map((entry, column) => cell(inline(entry.tokens, context), column)).join('\t'),
    ),
    '.TE',
  ];
  return `.PP\n${lines.join('\n')}\n`;
}

function listItems(token: Tokens.List, context: RenderContext): string {
  const start = typeof token.start === 'number' ? token.start : 1;
  return token.items
    .map((item, index) => {
      const tag = token.ordered ? `${start + index}.` : '\\(bu';
      const width = token.ordered ? 4 : 2;
      let first = true;
      return item.tokens
        .map((child) => {
          if (child.type === 'space') return '';
          if (child.type === 'text' || child.type === 'paragraph') {
            const text = fill(inline((child as Tokens.Text).tokens, context));
            const head = first ? `.IP ${tag} ${width}` : `.IP "" ${width}`;
            first = false;
            return `${head}\n${text}\n`;
          }
          if (child.type === 'list') return `.RS ${width}\n${listItems(child as Tokens.List, context)}.RE\n`;
          if (child.type === 'code') return `.RS ${width}\n${codeBlock((child as Tokens.Code).text)}.RE\n`;
          throw new RoffError(`expected text, a list or code in a list item, found '${child.type}'`);
        })
        .join('');
    })
    .join('');
}

function heading(token: Tokens.Heading, context: RenderContext): string {
  const text = escapeText(plain(token.tokens)).replace(/"/g, '\\(dq');
  if (token.depth <= context.sectionDepth) return `.SH "${text.toUpperCase()}"\n`;
  if (token.depth === context.sectionDepth + 1) return `.SS "${text}"\n`;
  return `.PP\n\\fB${text}\\fP\n`;
}

function block(token: Token, context: RenderContext): string {
  switch (token.type) {
    case 'space':
    case 'hr':
      return '';
    case 'heading':
      return heading(token as Tokens.Heading, context);
    case 'paragraph':
      return paragraph(inline(token.tokens, context));
    case 'text':
      return paragraph(inline('tokens' in token ? token.tokens : undefined, context));
    case 'code':
      return codeBlock((token as Tokens.Code).text);
    case 'table':
      return table(token as Tokens.Table, context);
    case 'list':
      return `.PP\n${listItems(token as Tokens.List, context)}`;
    case 'blockquote':
      return `.RS 4\n${render((token as Tokens.Blockquote).tokens, context)}.RE\n`;
    default:
      throw new RoffError(`expected a Markdown block the man pages support, found '${token.type}'`);
  }
}

function render(tokens: readonly Token[], context: RenderContext): string {
  return tokens.map((token) => block(token, context)).join('');
}

/** Markdown source to the body of a man page (no `.TH`). */
export function markdownToRoff(markdown: string, context: RenderContext): string {
  return render(Lexer.lex(markdown), context);
}

/** The `.TH` line and the NAME section. */
export function manHeader(page: {
  name: string;
  section: number;
  summary: string;
  source: string;
  manual: string;
}): string {
  const quoted = (text: string) => `"${escapeText(text).replace(/"/g, '\\(dq')}"`;
  return [
    `.\\" Generated from docs/ by packaging/man.ts: edit the Markdown, then run npm run man.`,
    `.TH ${quoted(page.name.toUpperCase())} ${page.section} "" ${quoted(page.source)} ${quoted(page.manual)}`,
    // Ragged right: keywords, paths and JSON do not stretch or squeeze a line to fit.
    '.ad l',
    '.SH "NAME"',
    `${escapeText(page.name)} \\- ${escapeText(page.summary)}`,
    '',
  ].join('\n');
}
