#!/usr/bin/env python3
"""A plain ZeroMQ publisher (pyzmq) that feeds nestjs-zeromq subscribers (kind 'pub-sub').

It binds an XPUB socket (a PUB that also sees subscriptions), waits until --subscribers
subscriptions covering the topic have arrived, then publishes each price change as two frames,
[topic, JSON payload]: the plain broadcast form that a ZeroMqServer with `plainMessages` routes
by its topic (here to the worker's `prices.*` handler).

    python3 price_feed.py tcp://127.0.0.1:5562 --count 10 --subscribers 1
"""
import argparse
import json
from datetime import datetime, timezone

import zmq


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("endpoint", help="address to bind, e.g. tcp://127.0.0.1:5562 (port * = any free port)")
    parser.add_argument("--topic", default="prices.changed")
    parser.add_argument("--count", type=int, default=10, help="price changes to publish")
    parser.add_argument("--subscribers", type=int, default=1, help="subscriptions to wait for before publishing")
    parser.add_argument("--timeout", type=float, default=20, help="seconds to wait for the subscribers")
    args = parser.parse_args()

    context = zmq.Context()
    publisher = context.socket(zmq.XPUB)
    publisher.setsockopt(zmq.LINGER, 2000)
    publisher.setsockopt(zmq.XPUB_VERBOSE, 1)
    publisher.setsockopt(zmq.RCVTIMEO, int(args.timeout * 1000))
    publisher.bind(args.endpoint)
    print(f"listening on {publisher.getsockopt_string(zmq.LAST_ENDPOINT)}", flush=True)
    try:
        seen = 0
        while seen < args.subscribers:
            subscription = publisher.recv()
            if subscription[:1] == b"\x01" and args.topic.encode().startswith(subscription[1:]):
                seen += 1
        for index in range(args.count):
            change = {"sku": "py-sku", "unitPrice": index + 1, "changedAt": datetime.now(timezone.utc).isoformat()}
            publisher.send_multipart([args.topic.encode(), json.dumps(change).encode()])
        print(f"published {args.count} price changes", flush=True)
    except zmq.Again:
        print(f"only {seen} of {args.subscribers} subscribers after {args.timeout} s", flush=True)
        raise SystemExit(1)
    finally:
        publisher.close()
        context.term()


if __name__ == "__main__":
    main()
