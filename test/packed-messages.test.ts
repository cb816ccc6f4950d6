// Fetched messages packed as positions in their fetch buffers while they wait
// (src/eventlog/packed-messages.ts): unpacking gives exactly what converting each message on its own would.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PackedMessages, PinnedMemory, type RawMessage } from '../src/eventlog/packed-messages.js';

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
      const plain = packed.unpack(partition).map((m) => ({ partition: m.partition, offset: m.offset, key: m.key, value: m.value, appendedAt: m.appendedAt }));
      expect(plain).toEqual(messages.map((m) => oneByOne(partition, m)));
    }), { numRuns: 300 });
  });

  it('reads messages lying in several buffers, at any offset within them (one response, several decompressed record batches)', () => {
    const response = Buffer.from('....k1{"a":1}k2{"b":2}');
    const decompressed = Buffer.from('xxk3{"c":3}');
    const views: RawMessage[] = [
      { offset: '7', timestamp: '1000', key: response.subarray(4, 6), value: response.subarray(6, 13) },
      { offset: '8', timestamp: '1001', key: decompressed.subarray(2, 4), value: decompressed.subarray(4, 11) },
      { offset: '9', timestamp: '1002', key: response.subarray(13, 15), value: response.subarray(15, 22) },
    ];
    expect(PackedMessages.pack(views).unpack(3).map((m) => [m.offset, m.key, m.value, m.appendedAt])).toEqual([
      [7, 'k1', '{"a":1}', 1000], [8, 'k3', '{"c":3}', 1001], [9, 'k2', '{"b":2}', 1002],
    ]);
  });

  it('counts each fetch response once while any batch in it is held', () => {
    const r1 = Buffer.allocUnsafeSlow(1000);
    const r2 = Buffer.allocUnsafeSlow(500);
    const msg = (b: Buffer, at: number): RawMessage => ({ offset: String(at), timestamp: '0', key: null, value: b.subarray(at, at + 10) });
    const a = PackedMessages.pack([msg(r1, 0), msg(r1, 10)]);
    const b = PackedMessages.pack([msg(r1, 20), msg(r2, 0)]);
    const pinned = new PinnedMemory();
    pinned.hold(a);
    expect(pinned.bytes).toBe(1000);
    pinned.hold(b);
    expect(pinned.bytes).toBe(1500);
    pinned.release(a);
    expect(pinned.bytes).toBe(1500);
    pinned.release(b);
    expect(pinned.bytes).toBe(0);
  });
});
