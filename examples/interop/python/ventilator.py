#!/usr/bin/env python3
"""A plain ZeroMQ producer (the zguide's task ventilator, in pyzmq) feeding a nestjs-zeromq worker.

It pushes single-frame text messages. The worker reads them through its `plainMessages` option
and hands each one to its `tasks.plain` handler, as if a Nest client had emitted it.

    python3 ventilator.py tcp://127.0.0.1:5558 --count 100
"""
import argparse

import zmq


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("endpoint", help="the worker's tasks socket, e.g. tcp://127.0.0.1:5558")
    parser.add_argument("--count", type=int, default=100, help="tasks to send")
    args = parser.parse_args()

    context = zmq.Context()
    sender = context.socket(zmq.PUSH)
    # At exit, wait at most 5 s for tasks not yet delivered (the default waits forever).
    sender.setsockopt(zmq.LINGER, 5000)
    sender.connect(args.endpoint)
    for number in range(args.count):
        sender.send_string(f"task {number}")
    print(f"sent {args.count} tasks to {args.endpoint}", flush=True)
    sender.close()
    context.term()


if __name__ == "__main__":
    main()
