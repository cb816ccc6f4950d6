// Fetched Kafka messages waiting for their turn, kept as positions in the fetch response's own
// bytes. The Kafka adapter fetches ahead of the reconciler (up to 100,000 messages): as an
// object and two strings each, that backlog lived long enough to be copied by young-generation
// GCs and promoted, and the old generation's collector then marked and swept it again.
// Copying the bytes out instead cost more: every batch's copy was freshly allocated memory,
// paid for in page faults (BENCHMARKS.md, spine). So a waiting batch holds the response buffers
// its messages are already in, plus typed arrays of where each one lies. Its messages become
// objects only when handed to the handler, and their key and value strings only when read: the
// reconciler reads a value once, to decode it, and holds the message until its transaction
// commits, long enough for a retained string to be promoted to the old generation.
import type { LogMessage } from './event-log.js';

/** What packing needs of a fetched message (kafkajs's KafkaMessage has these). */
export interface RawMessage {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
}

/** Per message in `ranges`: key buffer, start, end; value buffer, start, end (buffer −1: none). */
const FIELDS = 6;

export class PackedMessages {
  private constructor(
    /** The distinct memory the messages lie in, each viewed whole (usually one fetch response). */
    private readonly buffers: readonly Buffer[],
    private readonly offsets: Float64Array,
    private readonly timestamps: Float64Array,
    private readonly ranges: Int32Array,
  ) {}

  static pack(messages: readonly RawMessage[]): PackedMessages {
    const n = messages.length;
    const buffers: Buffer[] = [];
    const memory: ArrayBufferLike[] = [];
    const offsets = new Float64Array(n);
    const timestamps = new Float64Array(n);
    const ranges = new Int32Array(n * FIELDS);
    const place = (b: Buffer | null, at: number) => {
      if (b === null) {
        ranges[at] = -1;
        return;
      }
      let i = memory.lastIndexOf(b.buffer);
      if (i < 0) {
        i = memory.push(b.buffer) - 1;
        buffers.push(Buffer.from(b.buffer));
      }
      ranges[at] = i;
      ranges[at + 1] = b.byteOffset;
      ranges[at + 2] = b.byteOffset + b.length;
    };
    for (let k = 0; k < n; k++) {
      const m = messages[k]!;
      offsets[k] = Number(m.offset);
      timestamps[k] = Number(m.timestamp);
      place(m.key, k * FIELDS);
      place(m.value, k * FIELDS + 3);
    }
    return new PackedMessages(buffers, offsets, timestamps, ranges);
  }

  /** The memory this batch keeps alive (whole fetch responses, shared with other batches). */
  get memory(): readonly Buffer[] {
    return this.buffers;
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
    const out: LogMessage[] = new Array(this.offsets.length);
    for (let k = 0; k < out.length; k++) out[k] = new PackedMessage(this, k, partition, this.offsets[k]!, this.timestamps[k]!);
    return out;
  }

  /** Message k's key (field 0) or value (field 3) as text, or null where it has none. */
  textAt(k: number, field: 0 | 3): string | null {
    const at = k * FIELDS + field;
    const b = this.ranges[at]!;
    return b < 0 ? null : this.buffers[b]!.toString('utf8', this.ranges[at + 1], this.ranges[at + 2]);
  }
}

/** A message whose key and value are decoded from the packed bytes each time they are read. */
class PackedMessage implements LogMessage {
  constructor(
    private readonly from: PackedMessages,
    private readonly k: number,
    readonly partition: number,
    readonly offset: number,
    readonly appendedAt: number,
  ) {}

  get key(): string | null {
    return this.from.textAt(this.k, 0);
  }

  get value(): string {
    return this.from.textAt(this.k, 3) ?? '';
  }
}

/**
 * The memory that waiting and in-flight batches keep alive, each fetch response counted once
 * however many batches lie in it. The adapter stops fetching above a limit: one stalled
 * partition with a few messages in each of many responses would otherwise keep every one of
 * those responses alive.
 */
export class PinnedMemory {
  private readonly holders = new Map<ArrayBufferLike, number>();
  private total = 0;

  get bytes(): number {
    return this.total;
  }

  hold(p: PackedMessages): void {
    for (const b of p.memory) {
      const n = this.holders.get(b.buffer) ?? 0;
      if (n === 0) this.total += b.buffer.byteLength;
      this.holders.set(b.buffer, n + 1);
    }
  }

  release(p: PackedMessages): void {
    for (const b of p.memory) {
      const n = this.holders.get(b.buffer) ?? 0;
      if (n > 1) this.holders.set(b.buffer, n - 1);
      else if (this.holders.delete(b.buffer)) this.total -= b.buffer.byteLength;
    }
  }
}
