#!/usr/bin/env python3
"""A plain ZeroMQ consumer (the zguide's task sink, in pyzmq) fed by the nestjs-zeromq producer.

It binds a PULL socket; the producer's bare export route (PRODUCER_EXPORT_ENDPOINTS) connects
and sends each accepted order as one JSON frame, which this prints as one line.

    python3 sink.py tcp://127.0.0.1:5559 --count 10
"""
import argparse
import json

import zmq


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("endpoint", help="address to bind, e.g. tcp://127.0.0.1:5559 (port * = any free port)")
    parser.add_argument("--count", type=int, default=0, help="exit after this many orders (0 = run until interrupted)")
    parser.add_argument("--timeout", type=float, default=0, help="exit with status 1 after this many seconds without an order")
    args = parser.parse_args()

    context = zmq.Context()
    receiver = context.socket(zmq.PULL)
    receiver.setsockopt(zmq.LINGER, 0)
    if args.timeout > 0:
        receiver.setsockopt(zmq.RCVTIMEO, int(args.timeout * 1000))
    receiver.bind(args.endpoint)
    print(f"listening on {receiver.getsockopt_string(zmq.LAST_ENDPOINT)}", flush=True)

    received = 0
    try:
        while args.count == 0 or received < args.count:
            order = json.loads(receiver.recv())
            received += 1
            print(json.dumps(order), flush=True)
    except zmq.Again:
        print(f"no order for {args.timeout} s after {received}", flush=True)
        raise SystemExit(1)
    except KeyboardInterrupt:
        pass
    finally:
        receiver.close()
        context.term()


if __name__ == "__main__":
    main()
