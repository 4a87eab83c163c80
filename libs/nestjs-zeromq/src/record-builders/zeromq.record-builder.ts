import type { PacketMetadata } from '@nestjs/microservices';
import type { ZeroMqDeliveryMode } from '../zeromq.options.js';

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

  /** Throws a TypeError for a header that is not text, or an option out of range. */
  build(): ZeroMqRecord<TData> {
    for (const [key, value] of Object.entries(this.headers)) {
      if (typeof value !== 'string') {
        throw new TypeError(`ZeroMqRecord header "${key}" must be a string, got ${typeof value}`);
      }
    }
    const { timeout, delivery } = this.options;
    if (timeout !== undefined && !(Number.isInteger(timeout) && timeout >= 0)) {
      throw new TypeError(`ZeroMqRecord option timeout must be a whole number of milliseconds >= 0, got ${timeout}`);
    }
    if (delivery !== undefined && delivery !== 'at-most-once' && delivery !== 'at-least-once') {
      throw new TypeError(`ZeroMqRecord option delivery must be 'at-most-once' or 'at-least-once', got ${String(delivery)}`);
    }
    return new ZeroMqRecord(this.data as TData, { ...this.headers }, { ...this.options });
  }
}
