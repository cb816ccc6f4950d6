// Fetched messages packed into one buffer while they wait (src/eventlog/packed-messages.ts):
// unpacking gives exactly what converting each message on its own would.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PackedMessages, type RawMessage } from '../src/eventlog/packed-messages.js';

const rawMessage = fc.record({
  offset: fc.nat({ max: 2 ** 40 }).map(String),
  timestamp: fc.integer({ min: 0, max: 4_102_444_800_000 }).map(String),
  key: fc.option(fc.string({ unit: 'binary', maxLength: 20 }).map((s) => Buffer.from(s)), { nil: null }),
  value: fc.option(fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.json()).map((s) => Buffer.from(s)), { nil: null }),
});

/** What the adapter did per message before packing. */
const oneByOne = (partition: number, m: RawMessage) => ({
  partition,
  offset: Number(m.offset),
  key: m.key?.toString('utf8') ?? null,
  value: m.value?.toString('utf8') ?? '',
  appendedAt: Number(m.timestamp),
});

describe('packed messages', () => {
  it('unpack gives each message as converted on its own: keys, null keys, empty and missing values, any UTF-8', () => {
    fc.assert(fc.property(fc.array(rawMessage, { maxLength: 40 }), fc.nat({ max: 63 }), (messages, partition) => {
      const packed = PackedMessages.pack(messages);
      expect(packed.length).toBe(messages.length);
      expect(packed.lastOffset).toBe(messages.length === 0 ? -1 : Number(messages[messages.length - 1]!.offset));
      expect(packed.unpack(partition)).toEqual(messages.map((m) => oneByOne(partition, m)));
    }), { numRuns: 300 });
  });

  it('keeps its own copy of the bytes: reusing the fetch buffer afterwards changes nothing', () => {
    const response = Buffer.from('k1{"a":1}k2{"b":2}');
    const views: RawMessage[] = [
      { offset: '7', timestamp: '1000', key: response.subarray(0, 2), value: response.subarray(2, 9) },
      { offset: '8', timestamp: '1001', key: response.subarray(9, 11), value: response.subarray(11, 18) },
    ];
    const packed = PackedMessages.pack(views);
    response.fill(0);
    expect(packed.unpack(3).map((m) => [m.offset, m.key, m.value])).toEqual([[7, 'k1', '{"a":1}'], [8, 'k2', '{"b":2}']]);
  });
});
