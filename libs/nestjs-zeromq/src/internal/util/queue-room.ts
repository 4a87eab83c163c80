/** How much a queue may hold: messages and bytes (the `maxQueueSize` and `maxQueueBytes` options). */
export interface QueueLimits {
  readonly maxQueueSize: number;
  readonly maxQueueBytes: number;
}

/**
 * Whether a message of `size` bytes fits in a queue holding `count` messages of `bytes` bytes in
 * all. A message alone always fits, whatever its size: a queue never refuses its only message.
 */
export function hasRoomFor(limits: QueueLimits, count: number, bytes: number, size: number): boolean {
  return count < limits.maxQueueSize && (count === 0 || bytes + size <= limits.maxQueueBytes);
}
