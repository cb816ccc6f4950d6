import fs from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { buildListingsFeed, MAX_FEED_MESSAGES, outcomesFromReport } from './listings-feed.js';

const SCHEMAS = path.resolve(import.meta.dirname, '../../test/standins/amazon/spec/schemas/feeds');
const schema = (f: string) => new Ajv({ strict: false, allErrors: true }).compile(JSON.parse(fs.readFileSync(path.join(SCHEMAS, f), 'utf8')) as object);

describe('JSON_LISTINGS_FEED', () => {
  it('builds documents the published schema accepts', () => {
    const validate = schema('listings-feed-schema-v2.json');
    const doc = buildListingsFeed('A2SELLER', [{ sku: 'A-1', quantity: 0 }, { sku: 'B/7', quantity: 12 }]);
    expect(validate(doc)).toBe(true);
    expect(doc.messages.map((m) => [m.messageId, m.sku, m.patches[0]!.value[0]!.quantity])).toEqual([[1, 'A-1', 0], [2, 'B/7', 12]]);
    expect(() => buildListingsFeed('A2SELLER', [])).toThrow(RangeError);
    expect(() => buildListingsFeed('A2SELLER', Array.from({ length: MAX_FEED_MESSAGES + 1 }, (_, i) => ({ sku: `S${i}`, quantity: 1 })))).toThrow(RangeError);
  });

  it('turns a processing report into one outcome per SKU, retryable by code', () => {
    const updates = [{ sku: 'A-1', quantity: 1 }, { sku: 'B-2', quantity: 2 }, { sku: 'C-3', quantity: 3 }, { sku: 'D-4', quantity: 4 }];
    const report = {
      header: { sellerId: 'A2SELLER', version: '2.0', feedId: '501' },
      issues: [
        { messageId: 2, sku: 'B-2', code: '4000000', severity: 'ERROR' as const, message: 'An internal error has occurred. Please try again.' },
        { messageId: 3, sku: 'C-3', code: '90244', severity: 'ERROR' as const, message: 'bad value' },
        { messageId: 4, sku: 'D-4', code: '4000001', severity: 'ERROR' as const, message: 'not a listing' },
        { messageId: 1, sku: 'A-1', code: '99300', severity: 'WARNING' as const, message: 'slow' },
      ],
      summary: { errors: 3, warnings: 1, messagesProcessed: 4, messagesAccepted: 1, messagesInvalid: 3 },
    };
    expect(schema('listings-feed-processing-report-schema-v2.json')(report)).toBe(true);
    expect(outcomesFromReport(updates, report)).toEqual([
      { ok: true, warnings: ['99300 slow'] },
      { ok: false, error: 'B-2: 4000000 An internal error has occurred. Please try again.', retryable: true },
      { ok: false, error: 'C-3: 90244 bad value', retryable: false },
      { ok: false, error: 'D-4: 4000001 not a listing', retryable: false, notListed: true },
    ]);
  });

  it('fails every update of a feed refused as a whole', () => {
    const report = { header: { feedId: '502' }, issues: [{ code: '100002', severity: 'ERROR' as const, message: 'not JSON' }], summary: { errors: 1, warnings: 0, messagesProcessed: 0, messagesAccepted: 0, messagesInvalid: 0 } };
    expect(outcomesFromReport([{ sku: 'A-1', quantity: 1 }], report)).toEqual([{ ok: false, error: 'feed 502 refused: 100002: not JSON', retryable: false }]);
    expect(outcomesFromReport([{ sku: 'A-1', quantity: 1 }], { ...report, issues: [] }, true)[0]).toMatchObject({ ok: false, retryable: false });
  });
});
