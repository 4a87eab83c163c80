import dns2 from 'dns2';
import type { Socket } from 'node:net';
import { Collector } from './waiting.js';

const { Packet } = dns2;

/** An SRV record as the test sets it. */
export interface SrvRecord {
  target: string;
  port: number;
  priority?: number;
  weight?: number;
}

/**
 * How the server treats every query: answer from its records, answer SERVFAIL, drop it (the
 * client times out), or hold it until `release()` (to act while a lookup is in flight).
 */
export type DnsServerMode = 'answer' | 'servfail' | 'silent' | 'hold';

interface Records {
  a: string[];
  aaaa: string[];
  srv: SrvRecord[];
}

const TTL = 1;
/** Response codes (RFC 1035 4.1.1); dns2's typings leave out its RCODE table. */
const SERVFAIL = 2;
const NXDOMAIN = 3;
/** Ports tried by `start()` before it gives up. */
const START_ATTEMPTS = 20;

/**
 * A real DNS server over UDP and TCP (same port) on 127.0.0.1 (dns2) with records the test
 * changes as it goes (TCP for answers too large for UDP, as with 64 SRV records), for
 * testing DNS discovery against actual DNS packets. Names are matched without case and without a
 * trailing dot; an unknown name gets NXDOMAIN, a known name without records of the asked type an
 * empty NOERROR answer.
 */
export class TestDnsServer {
  /** Queries received, as `TYPE name` (e.g. `A workers.test`), in order; `waitFor(n)` waits for the n-th. */
  readonly queries = new Collector<string>();
  mode: DnsServerMode = 'answer';
  private readonly records = new Map<string, Records>();
  private held: Array<() => void> = [];
  private readonly server = dns2.createUDPServer((request, send) => this.handle(request, send));
  private readonly tcp = dns2.createTCPServer((request, send) => this.handle(request, async (response) => send(response)));
  private readonly tcpConnections = new Set<Socket>();
  private udpListening = false;

  /**
   * Starts on a free port of 127.0.0.1: UDP on port 0, then TCP on the same port. Another suite may
   * hold that port for TCP; then both are closed and another port is tried (bounded).
   */
  static async start(): Promise<TestDnsServer> {
    let lastError: unknown;
    for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
      const server = new TestDnsServer();
      try {
        await server.listen();
        return server;
      } catch (error) {
        lastError = error;
        await server.close();
      }
    }
    throw new Error(`TestDnsServer: no port of 127.0.0.1 free for both UDP and TCP in ${START_ATTEMPTS} attempts: ${String(lastError)}`);
  }

  private async listen(): Promise<void> {
    await this.server.listen(0, '127.0.0.1');
    this.udpListening = true;
    this.tcp.on('connection', (socket: Socket) => {
      this.tcpConnections.add(socket);
      socket.once('close', () => this.tcpConnections.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      this.tcp.once('error', reject);
      this.tcp.listen(this.server.address().port, '127.0.0.1', () => resolve());
    });
  }

  /** `127.0.0.1:port`, as a resolver's server list takes it. */
  get address(): string {
    return `127.0.0.1:${this.server.address().port}`;
  }

  /** Replaces the A (IPv4) records of `name`. */
  setA(name: string, ips: string[]): void {
    this.entry(name).a = [...ips];
  }

  /** Replaces the AAAA (IPv6) records of `name`. */
  setAaaa(name: string, ips: string[]): void {
    this.entry(name).aaaa = [...ips];
  }

  /** Replaces the SRV records of `name`. */
  setSrv(name: string, records: SrvRecord[]): void {
    this.entry(name).srv = records.map((record) => ({ ...record }));
  }

  /** Forgets `name`: queries for it get NXDOMAIN. */
  remove(name: string): void {
    this.records.delete(normalize(name));
  }

  /** Queries of `type` for `name` received so far. */
  queryCount(type: 'A' | 'AAAA' | 'SRV', name: string): number {
    return this.queries.items.filter((query) => query === `${type} ${normalize(name)}`).length;
  }

  /** Answers the held queries from the current records and goes back to answering. */
  release(): void {
    this.mode = 'answer';
    const held = this.held;
    this.held = [];
    held.forEach((answer) => answer());
  }

  /** Closes whatever of UDP and TCP is listening; safe to call twice. */
  close(): Promise<void> {
    const tcp = this.tcp.listening ? new Promise<void>((resolve) => this.tcp.close(() => resolve())) : Promise.resolve();
    // Lingering TCP connections (resolvers keep them for reuse) must not hold the close.
    for (const socket of this.tcpConnections) {
      socket.destroy();
    }
    const udp = this.udpListening ? new Promise<void>((resolve) => this.server.close(() => resolve())) : Promise.resolve();
    this.udpListening = false;
    return Promise.all([udp, tcp]).then(() => undefined);
  }

  private entry(name: string): Records {
    const key = normalize(name);
    let entry = this.records.get(key);
    if (entry === undefined) {
      entry = { a: [], aaaa: [], srv: [] };
      this.records.set(key, entry);
    }
    return entry;
  }

  private handle(request: dns2.Packet, send: (response: dns2.Packet) => Promise<unknown>): void {
    const [question] = request.questions;
    const name = normalize(question.name);
    const type = Object.entries(Packet.TYPE).find(([, code]) => code === question.type)?.[0] ?? String(question.type);
    this.queries.add(`${type} ${name}`);
    if (this.mode === 'silent') {
      return;
    }
    // A reply that cannot be sent (server closing) is a lost UDP packet, as on a real network.
    const reply = () => send(this.answer(request)).catch(() => undefined);
    if (this.mode === 'hold') {
      this.held.push(reply);
    } else {
      void reply();
    }
  }

  private answer(request: dns2.Packet): dns2.Packet {
    const [question] = request.questions;
    const name = normalize(question.name);
    const response = Packet.createResponseFromRequest(request);
    response.header.aa = 1;
    const entry = this.records.get(name);
    if (this.mode === 'servfail') {
      response.header.rcode = SERVFAIL;
    } else if (entry === undefined) {
      response.header.rcode = NXDOMAIN;
    } else {
      const answer = (record: Partial<dns2.Packet.Resource>) =>
        Packet.createResourceFromQuestion(question, { name: question.name, class: Packet.CLASS.IN, ttl: TTL, ...record });
      if (question.type === Packet.TYPE.A) {
        response.answers.push(...entry.a.map((address) => answer({ type: Packet.TYPE.A, address })));
      } else if (question.type === Packet.TYPE.AAAA) {
        response.answers.push(...entry.aaaa.map((address) => answer({ type: Packet.TYPE.AAAA, address })));
      } else if (question.type === Packet.TYPE.SRV) {
        response.answers.push(
          ...entry.srv.map(({ target, port, priority = 10, weight = 10 }) =>
            answer({ type: Packet.TYPE.SRV, target, port, priority, weight }),
          ),
        );
      }
    }
    return response;
  }
}

function normalize(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}
