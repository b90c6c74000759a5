import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { csvField, parseCsv, parseCsvHeader, parseCsvRecords, toCsv } from './csv.ts';

const SHARED = join(import.meta.dirname, '../../../../shared/data');
const REAL_HEADER_TEXT = readFileSync(join(SHARED, 'chexpert-format/train_csv_header.csv'), 'utf8');
const REAL_COLUMNS = (JSON.parse(readFileSync(join(SHARED, 'chexpert-format/train_csv_value_counts.json'), 'utf8')) as { columns: string[] }).columns;

describe('parseCsv', () => {
  it('reads the real CheXpert header line as its 19 columns', () => {
    const { header, rows, errors } = parseCsv(REAL_HEADER_TEXT);
    expect(header).toEqual(REAL_COLUMNS);
    expect(header).toHaveLength(19);
    expect(header).toContain('Frontal/Lateral');
    expect(rows).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('handles quoted commas, doubled quotes, newlines inside quotes and keeps line numbers', () => {
    const text = 'a,b,c\n1,"x, y",3\n"he said ""hi""",2,"multi\nline\r\nfield"\n4,5,6\n';
    const { header, rows, errors } = parseCsv(text);
    expect(header).toEqual(['a', 'b', 'c']);
    expect(errors).toEqual([]);
    expect(rows.map((r) => r.line)).toEqual([2, 3, 6]);
    expect(rows[0]!.fields).toEqual(['1', 'x, y', '3']);
    expect(rows[1]!.fields).toEqual(['he said "hi"', '2', 'multi\nline\r\nfield']);
    expect(rows[2]!.fields).toEqual(['4', '5', '6']);
  });

  it('accepts CRLF, a BOM, no final newline, blank lines and empty fields', () => {
    const text = '\uFEFFPath,Sex\r\np1,Male\r\n\r\np2,\r\n"",Female';
    const { header, rows, errors } = parseCsv(text);
    expect(header).toEqual(['Path', 'Sex']);
    expect(errors).toEqual([]);
    expect(rows).toEqual([
      { line: 2, fields: ['p1', 'Male'] },
      { line: 4, fields: ['p2', ''] },
      { line: 5, fields: ['', 'Female'] },
    ]);
  });

  it('keeps a trailing comma as an empty last field', () => {
    expect(parseCsvRecords('a,b,').records[0]!.fields).toEqual(['a', 'b', '']);
    expect(parseCsvRecords('a,b,\nc,d,e').records.map((r) => r.fields.length)).toEqual([3, 3]);
  });

  it('reports ragged rows, stray text after a quote and an unterminated quote with their lines', () => {
    const text = 'a,b\n1,2\n3\n4,5,6\n"x"y,7\n8,"open\n9,10\n';
    const { rows, errors } = parseCsv(text);
    expect(errors.map((e) => e.line)).toEqual([3, 4, 5, 6]);
    expect(errors[0]!.message).toMatch(/ragged row: 1 fields where the header has 2/);
    expect(errors[1]!.message).toMatch(/ragged row: 3 fields/);
    expect(errors[2]!.message).toMatch(/after a closing quote/);
    expect(errors[3]!.message).toMatch(/unterminated/);
    // Ragged rows are kept as found; the caller decides.
    expect(rows.find((r) => r.line === 3)!.fields).toEqual(['3']);
    expect(rows.find((r) => r.line === 5)!.fields).toEqual(['xy', '7']);
  });

  it('gets the header alone without parsing the body', () => {
    expect(parseCsvHeader('"a,1",b\r\nnot,"closed')).toEqual(['a,1', 'b']);
    expect(parseCsvHeader('')).toEqual([]);
  });

  it('parses a large CheXpert-shaped CSV correctly (fast and slow paths mixed, line numbers kept)', () => {
    // 60,000 rows here to keep the suite fast; the full 223,414-row size is timed outside the tests.
    const n = 60_000;
    const cells = ['1.0', '0.0', '-1.0', ''];
    const parts: string[] = [REAL_HEADER_TEXT.trimEnd()];
    const sexOf = (i: number): string => (i % 1000 === 0 ? 'Fe"male,\nor not' : i % 2 ? 'Male' : 'Female');
    for (let i = 0; i < n; i++) {
      const p = `CheXpert-v1.0-small/train/patient${String(i).padStart(5, '0')}/study1/view1_frontal.jpg`;
      const labels = Array.from({ length: 14 }, (_, k) => cells[(i + k) % 4]).join(',');
      const sex = sexOf(i);
      const field = sex.includes('"') ? `"${sex.replace(/"/g, '""')}"` : sex;
      parts.push(`${p},${field},${i % 91},Frontal,${i % 7 === 0 ? '' : 'AP'},${labels}`);
    }
    const text = parts.join(n % 2 ? '\n' : '\r\n') + '\r\n';
    const { header, rows, errors } = parseCsv(text);
    expect(errors).toEqual([]);
    expect(header).toEqual(REAL_COLUMNS);
    expect(rows).toHaveLength(n);
    let mismatches = 0;
    let line = 2;
    for (let i = 0; i < n; i++) {
      const f = rows[i]!.fields;
      if (rows[i]!.line !== line || f.length !== 19 || f[1] !== sexOf(i) || f[4] !== (i % 7 === 0 ? '' : 'AP')) mismatches++;
      if (!f[0]!.includes(`patient${String(i).padStart(5, '0')}/`)) mismatches++;
      for (let k = 0; k < 14; k++) if (f[5 + k] !== cells[(i + k) % 4]) mismatches++;
      line += sexOf(i).includes('\n') ? 2 : 1;
    }
    expect(mismatches).toBe(0);
  });
});

describe('toCsv', () => {
  it('quotes only what needs quoting and round-trips through parseCsv', () => {
    const header = ['Path', 'Note', 'Age'];
    const rows = [
      ['a/b.png', 'plain', 3],
      ['c,d.png', 'say "hi"', null],
      ['e.png', 'two\nlines', undefined],
      ['f.png', ' padded ', 0],
    ];
    const text = toCsv(header, rows);
    expect(text.split('\n')[2]).toBe('"c,d.png","say ""hi""",');
    const back = parseCsv(text);
    expect(back.errors).toEqual([]);
    expect(back.header).toEqual(header);
    expect(back.rows.map((r) => r.fields)).toEqual(rows.map((r) => r.map((v) => (v === null || v === undefined ? '' : String(v)))));
  });

  it('writes CRLF when asked', () => {
    expect(toCsv(['a'], [['1']], { eol: '\r\n' })).toBe('a\r\n1\r\n');
    expect(csvField('x\ry')).toBe('"x\ry"');
  });
});
