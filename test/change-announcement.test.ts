// The inventory.atp message format: changed positions grouped by SKU, up to
// CHANGES_PER_MESSAGE SKUs a message, and a reader that ignores what is not ours.
import { describe, expect, it } from 'vitest';
import { CHANGES_PER_MESSAGE, changeRecords, parseChanges } from '../src/reconciler/change-announcement.js';

describe('atp change announcements', () => {
  it('groups locations by SKU and round-trips through the reader', () => {
    const records = changeRecords([
      { sku: 'A-1', locationId: 'ams-01' }, { sku: 'B-2', locationId: 'ams-01' }, { sku: 'A-1', locationId: 'utr-02' },
    ]);
    expect(records).toHaveLength(1);
    expect(records[0]!.key).toBe('A-1');
    expect(parseChanges(records[0]!.value)).toEqual([
      { sku: 'A-1', locationIds: ['ams-01', 'utr-02'] },
      { sku: 'B-2', locationIds: ['ams-01'] },
    ]);
  });

  it('groups a SKU whose positions come both together and apart', () => {
    const records = changeRecords([
      { sku: 'A-1', locationId: 'ams-01' }, { sku: 'A-1', locationId: 'utr-02' }, { sku: 'B-2', locationId: 'ams-01' },
      { sku: 'B-2', locationId: 'utr-02' }, { sku: 'A-1', locationId: 'rtm-03' },
    ]);
    expect(parseChanges(records[0]!.value)).toEqual([
      { sku: 'A-1', locationIds: ['ams-01', 'utr-02', 'rtm-03'] },
      { sku: 'B-2', locationIds: ['ams-01', 'utr-02'] },
    ]);
  });

  it('splits into messages of at most CHANGES_PER_MESSAGE SKUs, losing none', () => {
    const n = CHANGES_PER_MESSAGE * 2 + 7;
    const keys = Array.from({ length: n }, (_, i) => ({ sku: `S-${i}`, locationId: 'wh-1' }));
    const records = changeRecords(keys);
    expect(records.map((r) => parseChanges(r.value).length)).toEqual([CHANGES_PER_MESSAGE, CHANGES_PER_MESSAGE, 7]);
    expect(records.flatMap((r) => parseChanges(r.value).map((c) => c.sku))).toEqual(keys.map((k) => k.sku));
  });

  it('reads anything else as no changes', () => {
    expect(parseChanges('not json')).toEqual([]);
    expect(parseChanges('{"sku":"A-1","locationIds":["x"]}')).toEqual([]);
    expect(parseChanges('{"changes":[{"sku":1},{"sku":"B","locationIds":["a",2]}]}')).toEqual([{ sku: 'B', locationIds: ['a'] }]);
  });
});
