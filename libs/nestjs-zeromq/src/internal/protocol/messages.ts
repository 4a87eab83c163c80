import { HEADERS } from './headers.js';
import type { Frame } from './records.js';

// The control messages, built whole. Records travel as packed fragments instead (the outboxes and
// the reply writer write them straight into their batches).

export function encodeHello(producerId: string): Frame[] {
  return [HEADERS.hello, producerId];
}

export function encodeCredit(route: readonly Frame[], window: number): Frame[] {
  return [...route, HEADERS.credit, String(window)];
}
