/**
 * The durable outbox of an at-least-once client (or route): accepted messages are kept in an
 * embedded store on the producer's disk until a worker acks them, so that they survive a producer
 * crash and a worker outage longer than the send queue. Needs the optional peer dependency
 * `lmdb`. See docs/delivery.md, "Durable outbox".
 * @publicApi
 */
export interface ZeroMqOutboxOptions {
  /**
   * Directory of the store (created if missing). One producer process per path: a second one
   * gets a clear error at `connect()`. Routes of one client share it (a table each).
   */
  path: string;
  /**
   * What "stored" means before an emit resolves: `'commit'`, the write is committed (survives a
   * crash of the process); `'flush'`, the write is on disk (survives a machine crash or power
   * loss). Emits of one event-loop turn share one commit and one flush.
   * @default 'commit'
   */
  durability?: 'commit' | 'flush';
  /**
   * When `emit()` resolves: once the message is stored (`'stored'`: a handler that emits can
   * answer its own caller at once), or once a worker acked it (`'acked'`, as without an outbox;
   * it is stored all the same).
   * @default 'stored'
   */
  resolveOn?: 'stored' | 'acked';
  /**
   * Bytes the stored messages of one route may take. An emit that would pass it fails with
   * `OUTBOX_FULL`; nothing stored is dropped to make room. The store's file does not shrink
   * after messages leave it: give its volume room for this plus a few MiB.
   * @default 1073741824 (1 GiB)
   */
  maxBytes?: number;
}
