import type { PacketMetadata } from '@nestjs/microservices';
import * as zmq from 'zeromq';
import {
  decodeMessage,
  encodeHello,
  encodeRecord,
  HEADERS,
  recordFields,
  type DecodedMessage,
  type Frame,
} from '../src/internal/protocol/wire.js';
import { within } from './waiting.js';

/** An answer a worker sent to a delivery or a request, as the wire carries it. */
export interface HandAnswer {
  id: string;
  status: string;
  data: unknown;
}

/**
 * A producer speaking the wire protocol by hand (docs/protocol.md) over a DEALER, so that a test
 * decides what arrives and when: a redelivery a lost ack or an `ackTimeout` would cause, without
 * timing; input a ZeroMqClient never sends.
 */
export class HandProducer {
  private readonly dealer = new zmq.Dealer({ linger: 0 });
  /** The credit the worker granted on hello. */
  credit = -1;

  /** Connects and says hello (unless `hello` is false); resolves with the credit granted. */
  async connect(address: string, hello = true): Promise<void> {
    this.dealer.connect(address);
    if (hello) {
      await this.dealer.send(encodeHello('hand-producer'));
      const credit = await this.next();
      if (credit.kind !== 'credit') {
        throw new Error(`expected credit, got ${credit.kind}`);
      }
      this.credit = credit.window;
    }
  }

  /** Sends an at-least-once delivery of `pattern` (a job `{ seq }` by default). */
  deliver(
    id: string,
    attempt: number,
    seq: number,
    options: { pattern?: string; maxAttempts?: number; metadata?: PacketMetadata } = {},
  ): Promise<void> {
    const record = encodeRecord(options.pattern ?? 'jobs', { seq }, options.metadata);
    return this.dealer.send([HEADERS.deliveries, ...recordFields.delivery(id, attempt, options.maxAttempts ?? 5, record)]);
  }

  /** Sends a delivery whose payload is not JSON although its info says so. */
  deliverUndecodable(id: string): Promise<void> {
    return this.dealer.send([HEADERS.deliveries, id, '1/5', 'jobs', 'j', '{not json']);
  }

  /** Sends a request (`send()`'s record) of `pattern` with `data`. */
  request(id: string, pattern: string, data: unknown): Promise<void> {
    return this.dealer.send([HEADERS.requests, ...recordFields.request(id, encodeRecord(pattern, data))]);
  }

  /** Sends frames as they are, after nothing: a header and its fields. */
  sendRaw(frames: Frame[]): Promise<void> {
    return this.dealer.send(frames);
  }

  /** The next acks, as "id:status" (the worker may pack several in one message). */
  async acks(): Promise<string[]> {
    return (await this.answers()).map((answer) => `${answer.id}:${answer.status}`);
  }

  /** The next answers (acks or replies), with their payloads (a reason, a response). */
  async answers(): Promise<HandAnswer[]> {
    const message = await this.next();
    if (message.kind !== 'replies') {
      throw new Error(`expected replies, got ${message.kind}`);
    }
    return message.records.map(({ id, status, data }) => ({ id, status, data }));
  }

  /** The next message the worker sends, whatever it is. */
  async next(ms = 5_000): Promise<DecodedMessage> {
    const frames = await within(this.dealer.receive(), ms, 'a message from the worker');
    return decodeMessage(frames, { maxPatternLength: 1_000, maxRecordsPerMessage: 100 });
  }

  close(): void {
    this.dealer.close();
  }
}
