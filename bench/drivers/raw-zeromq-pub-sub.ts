import * as zmq from 'zeromq';
import { BENCH_PATTERN, type BenchMessage } from '../message.js';
import type { BenchConsumer, BenchProducer, MessageSink, ProducerPeers, TransportDriver } from './driver.js';

const LINGER_MS = 1000;
/** How long the publisher waits for its subscribers' subscriptions. */
const SUBSCRIBE_TIMEOUT_MS = 10_000;
/** First byte of a subscription message on an XPUB socket (0 is an unsubscription). */
const SUBSCRIBE = 1;

/** Reads subscription messages until `subscribers` have subscribed to `topic`, or fails after the timeout. */
async function awaitSubscribers(publisher: zmq.XPublisher, topic: string, subscribers: number): Promise<void> {
  const deadline = Date.now() + SUBSCRIBE_TIMEOUT_MS;
  for (let seen = 0; seen < subscribers;) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`only ${seen} of ${subscribers} subscribers subscribed within ${SUBSCRIBE_TIMEOUT_MS} ms`)),
        Math.max(0, deadline - Date.now()),
      );
    });
    try {
      const [message] = await Promise.race([publisher.receive(), timeout]);
      if (message[0] === SUBSCRIBE && message.subarray(1).toString('utf8') === topic) {
        seen++;
      }
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Raw zeromq.js broadcast: every subscriber a SUB socket (bound, subscribed to the bench topic)
 * that parses each message; the publisher an XPUB socket (a PUB that also sees subscriptions, so
 * that it starts once every subscriber is there) connected to all of them, sending
 * `[topic, JSON]` with one awaited send per message. Past its high-water mark (1000 messages per
 * subscriber by default) a PUB socket drops: those show as lost.
 */
export const rawZeroMqPubSubDriver: TransportDriver = {
  window: 1,
  async startConsumer(sink: MessageSink): Promise<BenchConsumer> {
    const subscriber = new zmq.Subscriber({ linger: LINGER_MS });
    subscriber.subscribe(BENCH_PATTERN);
    await subscriber.bind('tcp://127.0.0.1:*');
    const reading = (async () => {
      for await (const [, payload] of subscriber) {
        sink(JSON.parse(payload.toString('utf8')) as BenchMessage);
      }
    })();
    return {
      endpoint: subscriber.lastEndpoint!,
      close: async () => {
        subscriber.close();
        await reading;
      },
    };
  },
  async startProducer(_endpoint: string, peers: ProducerPeers): Promise<BenchProducer> {
    const publisher = new zmq.XPublisher({ linger: LINGER_MS, verbosity: 'allSubs' });
    for (const endpoint of peers.endpoints) {
      publisher.connect(endpoint);
    }
    try {
      await awaitSubscribers(publisher, BENCH_PATTERN, peers.subscribers);
    } catch (error) {
      publisher.close();
      throw error;
    }
    return {
      send: (message) => publisher.send([BENCH_PATTERN, JSON.stringify(message)]),
      close: async () => publisher.close(),
    };
  },
};
