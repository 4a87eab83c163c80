import type { PacketMetadata } from '@nestjs/microservices';
import type { ZeroMqDeliveryMode } from '../zeromq.options.js';
import { MAX_KEY_LENGTH } from '../internal/protocol/message-key.js';

/** Options for one message, set with `ZeroMqRecordBuilder#setOptions`. */
export interface ZeroMqRecordOptions {
  /**
   * `send()`: milliseconds to wait for this request's last reply; `0` waits without limit.
   * @default the client's `requestTimeout`
   */
  timeout?: number;
  /**
   * `emit()`: how this one event travels. `'at-most-once'` on an at-least-once route sends it
   * without ack or redelivery; `'at-least-once'` needs a route with `delivery: 'at-least-once'`.
   * @default the route's `delivery`
   */
  delivery?: ZeroMqDeliveryMode;
  /**
   * `emit()`: the message's key (1 to 256 characters): messages of one key are handled in the
   * order they were emitted, by the worker that owns the key. Also set with `setKey`.
   * @default the route's or client's `key` function, else none
   */
  key?: string;
  /**
   * `emit()`: milliseconds the message lives: past it, it is not sent (again) and a worker that
   * gets it drops it; it is dead-lettered with reason `'expired'`. Also set with `setTtl`.
   * @default the client's `ttl`, else none
   */
  ttl?: number;
}

/**
 * A payload with headers and options of its own, for `emit()` and `send()`: the headers travel
 * as the message's metadata (handlers read them with `ZeroMqContext#getMetadata()`), merged over
 * the metadata a dispatch hook sets; the options apply to this message only.
 * @publicApi
 */
export class ZeroMqRecord<TData = unknown> {
  constructor(
    readonly data: TData,
    readonly headers: PacketMetadata = {},
    readonly options: ZeroMqRecordOptions = {},
  ) {}
}

/**
 * Builds a ZeroMqRecord, as Nest's `NatsRecordBuilder` does for NATS:
 *
 * ```ts
 * const record = new ZeroMqRecordBuilder(order).setHeaders({ tenant: 'acme' }).setOptions({ timeout: 2000 }).build();
 * this.client.send('orders.quote', record);
 * ```
 * @publicApi
 */
export class ZeroMqRecordBuilder<TData = unknown> {
  private headers: PacketMetadata = {};
  private options: ZeroMqRecordOptions = {};

  constructor(private data?: TData) {}

  setData(data: TData): this {
    this.data = data;
    return this;
  }

  /** Headers to send as metadata: text values only (the wire carries a JSON object of strings). */
  setHeaders(headers: PacketMetadata): this {
    this.headers = headers;
    return this;
  }

  setOptions(options: ZeroMqRecordOptions): this {
    this.options = options;
    return this;
  }

  /** The message's key (see `ZeroMqRecordOptions#key`), over what `setOptions` set. */
  setKey(key: string): this {
    this.options = { ...this.options, key };
    return this;
  }

  /** The message's time to live in milliseconds (see `ZeroMqRecordOptions#ttl`), over what `setOptions` set. */
  setTtl(ttl: number): this {
    this.options = { ...this.options, ttl };
    return this;
  }

  /** Throws a TypeError for a header that is not text, or an option out of range. */
  build(): ZeroMqRecord<TData> {
    for (const [key, value] of Object.entries(this.headers)) {
      if (typeof value !== 'string') {
        throw new TypeError(`ZeroMqRecord header "${key}" must be a string, got ${typeof value}`);
      }
    }
    const { timeout, delivery, key, ttl } = this.options;
    if (timeout !== undefined && !(Number.isInteger(timeout) && timeout >= 0)) {
      throw new TypeError(`ZeroMqRecord option timeout must be a whole number of milliseconds >= 0, got ${timeout}`);
    }
    if (delivery !== undefined && delivery !== 'at-most-once' && delivery !== 'at-least-once') {
      throw new TypeError(`ZeroMqRecord option delivery must be 'at-most-once' or 'at-least-once', got ${String(delivery)}`);
    }
    if (key !== undefined && !(typeof key === 'string' && key.length > 0 && key.length <= MAX_KEY_LENGTH)) {
      throw new TypeError(`ZeroMqRecord option key must be a string of 1 to ${MAX_KEY_LENGTH} characters, got ${describe(key)}`);
    }
    if (ttl !== undefined && !(Number.isInteger(ttl) && ttl > 0)) {
      throw new TypeError(`ZeroMqRecord option ttl must be a whole number of milliseconds > 0, got ${ttl}`);
    }
    return new ZeroMqRecord(this.data as TData, { ...this.headers }, { ...this.options });
  }
}

function describe(value: unknown): string {
  return typeof value === 'string' ? `${value.length} characters` : typeof value;
}
