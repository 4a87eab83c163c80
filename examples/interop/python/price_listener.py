#!/usr/bin/env python3
"""A plain ZeroMQ subscriber (pyzmq) that reads a nestjs-zeromq publisher's broadcasts.

It binds a SUB socket subscribed to --prefix and prints one JSON line per record:
{"topic", "pattern", "data"}. It reads every form a publisher sends (docs/protocol.md, "Broadcasts"):
  [topic, payload]                                  a bare route (bare: true)
  [topic, stamp, "NZ1E", pattern, info, payload]    one record
  [topic, stamp, "NZ1e", body]                      a batch: (4-byte big-endian length, bytes) per field

    python3 price_listener.py tcp://127.0.0.1:5563 --prefix prices. --count 10
"""
import argparse
import json
import struct

import zmq


def unpack(body: bytes) -> list:
    fields, offset = [], 0
    while offset < len(body):
        (length,) = struct.unpack_from(">I", body, offset)
        fields.append(body[offset + 4 : offset + 4 + length])
        offset += 4 + length
    return fields


def records(frames: list) -> list:
    """(pattern, info, payload) triples of one message."""
    if len(frames) == 2:
        return [(frames[0], b"j", frames[1])]
    header = frames[2]
    fields = unpack(frames[3]) if header == b"NZ1e" else frames[3:]
    if header not in (b"NZ1E", b"NZ1e") or len(fields) % 3 != 0:
        raise ValueError(f"not a broadcast: header {header!r}, {len(fields)} fields")
    return [tuple(fields[i : i + 3]) for i in range(0, len(fields), 3)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("endpoint", help="address to bind, e.g. tcp://127.0.0.1:5563 (port * = any free port)")
    parser.add_argument("--prefix", default="prices.")
    parser.add_argument("--count", type=int, default=0, help="exit after this many records (0 = run until interrupted)")
    parser.add_argument("--timeout", type=float, default=20, help="exit with status 1 after this many seconds without a message")
    args = parser.parse_args()

    context = zmq.Context()
    subscriber = context.socket(zmq.SUB)
    subscriber.setsockopt(zmq.LINGER, 0)
    subscriber.setsockopt(zmq.RCVTIMEO, int(args.timeout * 1000))
    subscriber.setsockopt_string(zmq.SUBSCRIBE, args.prefix)
    subscriber.bind(args.endpoint)
    print(f"listening on {subscriber.getsockopt_string(zmq.LAST_ENDPOINT)}", flush=True)
    received = 0
    try:
        while args.count == 0 or received < args.count:
            frames = subscriber.recv_multipart()
            for pattern, info, payload in records(frames):
                # info: the encoding byte ('j' JSON, 'b' bytes), then optional metadata JSON.
                data = json.loads(payload) if info[:1] == b"j" and payload else payload.decode("utf-8", "replace")
                print(json.dumps({"topic": frames[0].decode(), "pattern": pattern.decode(), "data": data}), flush=True)
                received += 1
    except zmq.Again:
        print(f"no broadcast for {args.timeout} s after {received}", flush=True)
        raise SystemExit(1)
    except KeyboardInterrupt:
        pass
    finally:
        subscriber.close()
        context.term()


if __name__ == "__main__":
    main()
