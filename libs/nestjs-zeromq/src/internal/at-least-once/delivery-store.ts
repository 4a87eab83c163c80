import type { Fragment } from '../protocol/wire.js';

/** A message read back from a store: its key (emission order) and its packed delivery fields. */
export interface StoredDelivery {
  readonly key: number;
  /** The delivery's packed fields (`recordFields.delivery`), with the attempt it was last sent as. */
  readonly packed: Buffer;
  /** Milliseconds since the epoch when it was accepted. */
  readonly storedAt: number;
}

/** A message that left the outbox as a dead letter, as the dead-letter table keeps it. */
export interface StoredDeadLetter {
  readonly messageId: string;
  readonly pattern: string;
  readonly reason: string;
  readonly attempts: number;
  /** Milliseconds since the epoch. */
  readonly storedAt: number;
  readonly deadAt: number;
  /** The delivery's packed fields, so that it can be queued again as it was. */
  readonly packed: Buffer;
}

/**
 * Where one at-least-once route keeps its messages from acceptance until a worker acks them (or
 * they are dead-lettered): the durable outbox. Keys are the emission order; writes of one event
 * turn share one commit. The tracker keeps in memory only the messages it can have in flight
 * (`maxQueueSize` / `maxQueueBytes`); the rest wait here and are read back in order.
 */
export interface DeliveryStore {
  /** Messages stored (dead letters not counted). */
  readonly count: number;
  /** Their bytes as stored. */
  readonly bytes: number;
  /** The bound on `bytes`: a message that would pass it is refused. */
  readonly maxBytes: number;
  /** The highest key stored when the store was opened (0 if none): new keys continue after it. */
  readonly lastKey: number;
  /** Stores a new message; resolves once it is stored at the outbox's durability level. */
  add(key: number, packed: Fragment): Promise<void>;
  /** Rewrites a stored message (a redelivery, with its new attempt number). */
  update(key: number, packed: Fragment): void;
  /** Removes an acked message. */
  remove(key: number): void;
  /** Moves a message into the dead-letter table. */
  deadLetter(key: number, letter: Omit<StoredDeadLetter, 'packed' | 'storedAt'>): void;
  /** Stored messages with a key above `after`, oldest first, at most `limit` (committed ones only). */
  readAfter(after: number, limit: number): StoredDelivery[];
  /** Resolves once every write made so far is committed (visible to `readAfter`). */
  committed(): Promise<void>;
  /** When the oldest stored message was accepted, if any is stored. */
  oldestStoredAt(): number | undefined;
  /** Dead letters in the table. */
  deadLetterCount(): number;
}
