import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countEventId, countToEvent, csvRowToEvent, ndjsonRowToEvent, parseCsvHeader, splitCsvLine, type CsvLayout } from './count-file-row.js';

const NOW = Date.parse('2026-12-05T12:00:00Z');
const ctx = { source: 'count-import:test', now: NOW };
const layout = (header = 'sku,locationId,quantity,countedAt'): CsvLayout => {
  const h = parseCsvHeader(header);
  if (!h.ok) throw new Error(h.error);
  return h.layout;
};

describe('count file header', () => {
  it('takes the four columns in any order and case, with a BOM, extra columns and ; as delimiter', () => {
    expect(layout('\uFEFFsku,locationId,quantity,countedAt').index).toEqual({ sku: 0, locationId: 1, quantity: 2, countedAt: 3 });
    expect(layout('CountedAt, Quantity ,note,SKU,locationid').index).toEqual({ sku: 3, locationId: 4, quantity: 1, countedAt: 0 });
    expect(layout('sku;locationId;quantity;countedAt').delimiter).toBe(';');
  });
  it('names what is missing or repeated', () => {
    expect(parseCsvHeader('sku,locationId,qty,countedAt')).toEqual({ ok: false, error: expect.stringMatching(/missing quantity/) });
    expect(parseCsvHeader('sku,sku,locationId,quantity,countedAt')).toEqual({ ok: false, error: 'header: column sku appears twice' });
  });
});

describe('CSV line splitting', () => {
  it('reads RFC 4180 quoting on one line', () => {
    expect(splitCsvLine('"A-1","ams,01",3,', ',')).toEqual({ ok: true, fields: ['A-1', 'ams,01', '3', ''] });
    expect(splitCsvLine('"say ""hi""",x', ',')).toEqual({ ok: true, fields: ['say "hi"', 'x'] });
    expect(splitCsvLine('"open,x', ',')).toEqual({ ok: false, error: 'a quoted field is not closed' });
    expect(splitCsvLine('"a"b,x', ',')).toEqual({ ok: false, error: 'text after a closing quote' });
    expect(splitCsvLine('a"b,x', ',')).toEqual({ ok: false, error: 'a quote inside an unquoted field' });
  });
  it('gives back any fields a spreadsheet wrote, quoted', () => {
    const field = fc.string({ unit: fc.constantFrom('a', ',', '"', ' ', 'é', ';') });
    fc.assert(fc.property(fc.array(field, { minLength: 1, maxLength: 6 }), (fields) => {
      const line = fields.map((f) => `"${f.replace(/"/g, '""')}"`).join(',');
      expect(splitCsvLine(line, ',')).toEqual({ ok: true, fields });
    }));
  });
});

describe('count rows', () => {
  it('become stock.counted events as of countedAt, with an id from the content', () => {
    const r = csvRowToEvent('A-1,ams-01,12,2026-11-23T11:00:00+01:00', layout(), ctx);
    expect(r).toEqual({ ok: true, event: {
      eventId: countEventId('A-1', 'ams-01', 12, Date.parse('2026-11-23T10:00:00Z')), type: 'stock.counted',
      sku: 'A-1', locationId: 'ams-01', occurredAt: '2026-11-23T10:00:00.000Z', source: 'count-import:test', quantity: 12,
    } });
  });
  it('give the same id for the same count however the time is written, and another for any other count', () => {
    const a = (q: string, at: string) => {
      const r = csvRowToEvent(`A-1,ams-01,${q},${at}`, layout(), ctx);
      if (!r.ok) throw new Error(r.error);
      return r.event.eventId;
    };
    expect(a('12', '2026-11-23T10:00:00Z')).toBe(a(' 12 ', '2026-11-23T11:00:00.000+01:00'));
    expect(a('12', '2026-11-23T10:00:00Z')).toBe(a('12', '2026-11-23 10:00Z'));
    expect(a('12', '2026-11-23T10:00:00Z')).not.toBe(a('13', '2026-11-23T10:00:00Z'));
    expect(a('12', '2026-11-23T10:00:00Z')).not.toBe(a('12', '2026-11-23T10:00:01Z'));
    fc.assert(fc.property(fc.nat({ max: 10_000 }), fc.nat({ max: 10_000 }), (q1, q2) => {
      fc.pre(q1 !== q2);
      expect(countEventId('S', 'L', q1, 0)).not.toBe(countEventId('S', 'L', q2, 0));
    }));
  });
  it('are refused with the field and the reason', () => {
    const err = (line: string) => {
      const r = csvRowToEvent(line, layout(), ctx);
      return r.ok ? 'accepted' : r.error;
    };
    expect(err('A 1,ams-01,1,2026-11-23T10:00:00Z')).toMatch(/^sku: must match/);
    expect(err('A-1,ams 01,1,2026-11-23T10:00:00Z')).toMatch(/^locationId: must match/);
    expect(err('A-1,ams-01,1.5,2026-11-23T10:00:00Z')).toBe('quantity: must be a whole number ≥ 0, got "1.5"');
    expect(err('A-1,ams-01,-2,2026-11-23T10:00:00Z')).toBe('quantity: must be a whole number ≥ 0, got "-2"');
    expect(err('A-1,ams-01,,2026-11-23T10:00:00Z')).toBe('quantity: must be a whole number ≥ 0, got ""');
    expect(err('A-1,ams-01,2000000000,2026-11-23T10:00:00Z')).toMatch(/^quantity: at most 1000000000/);
    expect(err('A-1,ams-01,1,23/11/2026')).toMatch(/^countedAt: expected an ISO-8601 date-time with offset/);
    expect(err('A-1,ams-01,1,2026-11-23T10:00:00')).toMatch(/^countedAt: expected an ISO-8601/);
    expect(err('A-1,ams-01,1,2026-02-30T10:00:00Z')).toBe('countedAt: "2026-02-30T10:00:00Z" is not a real date and time');
    expect(err('A-1,ams-01,1,2026-11-23T25:00:00Z')).toMatch(/is not a real date/);
    expect(err('A-1,ams-01,1,2062-11-23T10:00:00Z')).toBe('countedAt: 2062-11-23T10:00:00Z is in the future');
    expect(err('A-1,ams-01,1')).toBe('expected at least 4 fields, found 3');
    expect(err('"A-1,ams-01,1,2026-11-23T10:00:00Z')).toBe('a quoted field is not closed');
  });
  it('read the same from NDJSON, strictly typed', () => {
    const csv = csvRowToEvent('A-1,ams-01,4,2026-11-23T10:00:00Z', layout(), ctx);
    expect(ndjsonRowToEvent('{"sku":"A-1","locationId":"ams-01","quantity":4,"countedAt":"2026-11-23T10:00:00Z"}', ctx)).toEqual(csv);
    const err = (line: string) => {
      const r = ndjsonRowToEvent(line, ctx);
      return r.ok ? 'accepted' : r.error;
    };
    expect(err('{"sku":"A-1"')).toMatch(/^invalid JSON/);
    expect(err('[1]')).toMatch(/^expected a JSON object/);
    expect(err('{"sku":"A-1","locationId":"ams-01","countedAt":"2026-11-23T10:00:00Z"}')).toBe('quantity: missing');
    expect(err('{"sku":"A-1","locationId":"ams-01","quantity":1.5,"countedAt":"2026-11-23T10:00:00Z"}')).toBe('quantity: must be a whole number ≥ 0, got 1.5');
    expect(err('{"sku":7,"locationId":"ams-01","quantity":1,"countedAt":"2026-11-23T10:00:00Z"}')).toBe('sku: expected a string');
    expect(err('{"sku":"A-1","locationId":"ams-01","quantity":true,"countedAt":"2026-11-23T10:00:00Z"}')).toBe('quantity: expected a whole number');
  });
  it('accept zero, the largest quantity, and a count just inside the clock tolerance', () => {
    expect(countToEvent({ sku: 'A-1', locationId: 'x', quantity: 0, countedAt: '2026-11-23T10:00:00Z' }, ctx).ok).toBe(true);
    expect(countToEvent({ sku: 'A-1', locationId: 'x', quantity: '1000000000', countedAt: '2026-11-23T10:00:00Z' }, ctx).ok).toBe(true);
    expect(countToEvent({ sku: 'A-1', locationId: 'x', quantity: 1, countedAt: '2026-12-05T12:04:00Z' }, ctx).ok).toBe(true);
  });
});
