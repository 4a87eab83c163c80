import { isIP } from 'node:net';
import { ZeroMqOptionsError } from '../../zeromq.errors.js';

/**
 * `tcp+dns://host:port`: every A and AAAA record of `host`, each on `port`. On Kubernetes, a
 * headless Service's name (one record per ready pod).
 */
export interface DnsHostEndpoint {
  kind: 'host';
  host: string;
  port: number;
  /** The endpoint as written. */
  endpoint: string;
}

/**
 * `tcp+srv://_service._tcp.name`: every SRV record of the name, each target's A and AAAA
 * records on the record's port. On Kubernetes, `_<port name>._tcp.<service>.<namespace>.svc.<cluster domain>`
 * of a headless Service: the port comes from the Service, not from the client's configuration.
 */
export interface DnsServiceEndpoint {
  kind: 'service';
  name: string;
  endpoint: string;
}

/** An endpoint that names peers through DNS instead of by address. */
export type DnsEndpoint = DnsHostEndpoint | DnsServiceEndpoint;

const HOST_SCHEME = 'tcp+dns://';
const SERVICE_SCHEME = 'tcp+srv://';
const MAX_NAME_LENGTH = 253;
/** One DNS label: letters, digits, `-` (not at either end) and `_` (SRV labels, some internal names). */
const LABEL = /^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$/;

/** Whether `address` uses one of the DNS discovery schemes (it may still be malformed). */
export function isDnsEndpoint(address: string): boolean {
  return address.startsWith(HOST_SCHEME) || address.startsWith(SERVICE_SCHEME);
}

/**
 * Parses a DNS discovery endpoint. Throws a ZeroMqOptionsError saying what is wrong when
 * `address` uses a discovery scheme but is malformed, or uses none.
 */
export function parseDnsEndpoint(address: string): DnsEndpoint {
  const fail = (problem: string): never => {
    throw new ZeroMqOptionsError(`Invalid discovery endpoint "${address}": ${problem}`);
  };
  if (address.startsWith(HOST_SCHEME)) {
    const rest = address.slice(HOST_SCHEME.length);
    const match = /^([^:/?#]+):(\d{1,5})$/.exec(rest) ?? fail('expected tcp+dns://host:port');
    const [, host, portText] = match;
    const port = Number(portText);
    if (port < 1 || port > 65_535) {
      fail(`port ${portText} is outside 1-65535`);
    }
    checkName(host, fail);
    return { kind: 'host', host, port, endpoint: address };
  }
  if (address.startsWith(SERVICE_SCHEME)) {
    const name = address.slice(SERVICE_SCHEME.length);
    if (/[:/?#]/.test(name)) {
      fail('expected tcp+srv://_service._tcp.name (the SRV records carry the port)');
    }
    checkName(name, fail);
    if (!/^_[^.]+\._tcp\.[^.]/.test(name)) {
      fail('an SRV name starts with _<service>._tcp. (on Kubernetes: _<port name>._tcp.<service>.<namespace>.svc.<cluster domain>)');
    }
    return { kind: 'service', name, endpoint: address };
  }
  return fail(`expected ${HOST_SCHEME}host:port or ${SERVICE_SCHEME}_service._tcp.name`);
}

/** A ZeroMQ tcp address for a resolved IP (IPv6 in brackets). */
export function tcpAddress(ip: string, port: number): string {
  return isIP(ip) === 6 ? `tcp://[${ip}]:${port}` : `tcp://${ip}:${port}`;
}

function checkName(name: string, fail: (problem: string) => never): void {
  if (isIP(name) !== 0) {
    fail('an IP address needs no discovery: use tcp://');
  }
  const labels = (name.endsWith('.') ? name.slice(0, -1) : name).split('.');
  if (name.length > MAX_NAME_LENGTH || !labels.every((label) => LABEL.test(label))) {
    fail(`"${name}" is not a DNS name`);
  }
}
