// RFC 4180 CSV: a parser that keeps line numbers and reports problems per row instead of
// throwing, and a writer with correct quoting. Plain string work, no I/O: runs in workers and Node.

/** One record with the 1-based physical line it starts on. */
export interface CsvRow {
  line: number;
  fields: string[];
}

/** A problem with one record (ragged row, stray quote, unterminated quote). */
export interface CsvError {
  line: number;
  message: string;
}

export interface CsvParseResult {
  /** The first record (empty when the text is empty). */
  header: string[];
  /** The records after the header, blank lines left out. */
  rows: CsvRow[];
  /** Per-row problems; a ragged row is still in `rows`, with its fields as found. */
  errors: CsvError[];
}

const COMMA = 44;
const QUOTE = 34;
const CR = 13;
const LF = 10;

/** Splits CSV text into records. Accepts a BOM, CRLF / LF / CR line ends and a missing or extra final newline. */
export function parseCsvRecords(text: string): { records: CsvRow[]; errors: CsvError[] } {
  const records: CsvRow[] = [];
  const errors = scanCsv(text, (fields, line) => {
    records.push({ line, fields });
  });
  return { records, errors };
}

/**
 * Calls `onRecord` for each record in order (blank lines skipped) without keeping them, so large
 * files can be processed row by row. A record's own problems (stray or unterminated quotes) come
 * with it and are also returned at the end; field counts are the caller's business.
 */
export function scanCsv(text: string, onRecord: (fields: string[], line: number, problems?: string[]) => void): CsvError[] {
  const errors: CsvError[] = [];
  const n = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  let nextQuote = -1;
  let nextCr = -1;

  while (i < n) {
    // Fast path: a line with no quote and no CR except a final one is split natively.
    let lf = text.indexOf('\n', i);
    if (lf < 0) lf = n;
    if (nextQuote < i) {
      nextQuote = text.indexOf('"', i);
      if (nextQuote < 0) nextQuote = n;
    }
    if (nextCr < i) {
      nextCr = text.indexOf('\r', i);
      if (nextCr < 0) nextCr = n;
    }
    if (nextQuote >= lf && (nextCr >= lf || nextCr === lf - 1)) {
      const end = nextCr === lf - 1 ? lf - 1 : lf;
      if (end > i) onRecord(text.slice(i, end).split(','), line);
      i = lf + 1;
      line++;
      continue;
    }
    const before = errors.length;
    const r = parseRecord(text, i, line, errors);
    const blank = r.fields.length === 1 && r.fields[0] === '' && !r.sawQuote;
    if (!blank) onRecord(r.fields, line, errors.length > before ? errors.slice(before).map((e) => e.message) : undefined);
    i = r.next;
    line = r.nextLine;
  }
  return errors;
}

/** One record from `i` (the general, character-level path): fields, where the next record starts. */
function parseRecord(
  text: string,
  i: number,
  recordLine: number,
  errors: CsvError[],
): { fields: string[]; next: number; nextLine: number; sawQuote: boolean } {
  const n = text.length;
  let line = recordLine;
  const fields: string[] = [];
  let sawQuote = false;
  for (;;) {
    let value: string;
    if (text.charCodeAt(i) === QUOTE) {
      sawQuote = true;
      let start = i + 1;
      value = '';
      for (;;) {
        const q = text.indexOf('"', start);
        if (q < 0) {
          value += text.slice(start);
          line += countNewlines(text, start, n);
          errors.push({ line: recordLine, message: 'unterminated quoted field (runs to the end of the file)' });
          i = n;
          break;
        }
        line += countNewlines(text, start, q);
        if (text.charCodeAt(q + 1) === QUOTE) {
          value += text.slice(start, q + 1);
          start = q + 2;
          continue;
        }
        value += text.slice(start, q);
        i = q + 1;
        break;
      }
      // After the closing quote only a delimiter may follow; keep stray text but say so.
      if (i < n) {
        const c = text.charCodeAt(i);
        if (c !== COMMA && c !== CR && c !== LF) {
          const end = scanUnquoted(text, i, n);
          value += text.slice(i, end);
          errors.push({ line: recordLine, message: `text after a closing quote in field ${fields.length + 1}` });
          i = end;
        }
      }
    } else {
      const end = scanUnquoted(text, i, n);
      value = text.slice(i, end);
      i = end;
    }
    fields.push(value);
    if (i >= n) break;
    const c = text.charCodeAt(i);
    if (c === COMMA) {
      i++;
      if (i >= n) {
        fields.push('');
        break;
      }
      continue;
    }
    // A line break ends the record.
    i += c === CR && text.charCodeAt(i + 1) === LF ? 2 : 1;
    line++;
    break;
  }
  return { fields, next: i, nextLine: line, sawQuote };
}

function scanUnquoted(text: string, i: number, n: number): number {
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === COMMA || c === LF || c === CR) return i;
    i++;
  }
  return n;
}

function countNewlines(text: string, from: number, to: number): number {
  let k = 0;
  for (let j = from; j < to; j++) {
    const c = text.charCodeAt(j);
    if (c === LF) k++;
    else if (c === CR && text.charCodeAt(j + 1) !== LF) k++;
  }
  return k;
}

/**
 * Parses CSV text with a header line. Rows whose field count differs from the header's are kept
 * and reported in `errors` ("ragged row"), so the caller decides whether to skip them.
 */
export function parseCsv(text: string): CsvParseResult {
  const { records, errors } = parseCsvRecords(text);
  const first = records[0];
  if (!first) return { header: [], rows: [], errors };
  const header = first.fields;
  const rows = records.slice(1);
  for (const r of rows) {
    if (r.fields.length !== header.length) {
      errors.push({
        line: r.line,
        message: `ragged row: ${r.fields.length} fields where the header has ${header.length}`,
      });
    }
  }
  errors.sort((a, b) => a.line - b.line);
  return { header, rows, errors };
}

/** The header (first record) only, without parsing the rest beyond the first line break outside quotes. */
export function parseCsvHeader(text: string): string[] {
  // The header of the files we read has no quoted line breaks; cut at the first line end that is
  // outside quotes to avoid parsing a large body.
  let inQuotes = false;
  let end = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) inQuotes = !inQuotes;
    else if (!inQuotes && (c === LF || c === CR)) {
      end = i;
      break;
    }
  }
  return parseCsvRecords(text.slice(0, end)).records[0]?.fields ?? [];
}

export type CsvValue = string | number | boolean | null | undefined;

/** One field as RFC 4180 wants it: quoted when it holds a comma, quote, CR or LF, or leading/trailing space. */
export function csvField(v: CsvValue): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'string' ? v : String(v);
  if (/[",\r\n]/.test(s) || (s.length > 0 && (s[0] === ' ' || s[s.length - 1] === ' '))) {
    return `"${s.replace(/"/g, '""')}"`;
  }
  return s;
}

/** Writes a header and rows as CSV (LF line ends by default, a final line end included). */
export function toCsv(header: readonly string[], rows: readonly (readonly CsvValue[])[], opts: { eol?: '\n' | '\r\n' } = {}): string {
  const eol = opts.eol ?? '\n';
  const out: string[] = [header.map(csvField).join(',')];
  for (const r of rows) out.push(r.map(csvField).join(','));
  return out.join(eol) + eol;
}
