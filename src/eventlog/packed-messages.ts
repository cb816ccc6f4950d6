// Fetched Kafka messages waiting for their turn, kept as bytes outside the JavaScript heap.
// The Kafka adapter fetches ahead of the reconciler (up to 100,000 messages): as an object and
// two strings each, that backlog lived long enough to be copied by every young-generation GC and
// then promoted, and the old generation's collector had to mark and sweep it all again. Packed,
// a batch is one buffer and a few typed arrays; its messages become objects only when handed
// to the handler.
import type { LogMessage } from './event-log.js';

/** What packing needs of a fetched message (kafkajs's KafkaMessage has these). */
export interface RawMessage {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
}

export class PackedMessages {
  private constructor(
    private readonly bytes: Buffer,
    /** Per message: offset, timestamp (epoch ms), and the byte ranges of key and value (key start −1: no key). */
    private readonly offsets: Float64Array,
    private readonly timestamps: Float64Array,
    private readonly ranges: Int32Array,
  ) {}

  static pack(messages: readonly RawMessage[]): PackedMessages {
    const n = messages.length;
    let size = 0;
    for (const m of messages) size += (m.key?.length ?? 0) + (m.value?.length ?? 0);
    // Not from Node's shared pool: a pooled slice would keep its whole 8 KB pool block alive.
    const bytes = Buffer.allocUnsafeSlow(size);
    const offsets = new Float64Array(n);
    const timestamps = new Float64Array(n);
    const ranges = new Int32Array(n * 4);
    let at = 0;
    for (let i = 0; i < n; i++) {
      const m = messages[i]!;
      offsets[i] = Number(m.offset);
      timestamps[i] = Number(m.timestamp);
      if (m.key === null) {
        ranges[i * 4] = -1;
        ranges[i * 4 + 1] = -1;
      } else {
        ranges[i * 4] = at;
        at += m.key.copy(bytes, at);
        ranges[i * 4 + 1] = at;
      }
      ranges[i * 4 + 2] = at;
      if (m.value !== null) at += m.value.copy(bytes, at);
      ranges[i * 4 + 3] = at;
    }
    return new PackedMessages(bytes, offsets, timestamps, ranges);
  }

  get length(): number {
    return this.offsets.length;
  }

  /** Offset of the last message (−1 when empty). */
  get lastOffset(): number {
    return this.offsets.length === 0 ? -1 : this.offsets[this.offsets.length - 1]!;
  }

  /** The messages as the event log port gives them: UTF-8 text, a missing value as ''. */
  unpack(partition: number): LogMessage[] {
    const { bytes, offsets, timestamps, ranges } = this;
    const out: LogMessage[] = new Array(offsets.length);
    for (let i = 0; i < offsets.length; i++) {
      const k = i * 4;
      out[i] = {
        partition,
        offset: offsets[i]!,
        key: ranges[k]! < 0 ? null : bytes.toString('utf8', ranges[k]!, ranges[k + 1]!),
        value: bytes.toString('utf8', ranges[k + 2]!, ranges[k + 3]!),
        appendedAt: timestamps[i]!,
      };
    }
    return out;
  }
}
