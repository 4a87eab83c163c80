import type { Resolver } from 'node:dns/promises';
import { tcpAddress, type DnsEndpoint } from '../options/dns-endpoint.js';

/** Answers that mean "this name has no such records", as opposed to a failed lookup. */
const NO_RECORDS = new Set(['ENODATA', 'ENOTFOUND']);

/**
 * The ZeroMQ addresses a discovery endpoint resolves to now: sorted, without duplicates, empty
 * when the name has no records. Rejects when a lookup fails (server failure, timeout, refused),
 * so that the caller can keep its last good set rather than take a partial answer.
 * SRV priority and weight are ignored: ZeroMQ spreads the load over every connected peer.
 */
export async function resolveDnsEndpoint(resolver: Resolver, endpoint: DnsEndpoint): Promise<string[]> {
  const addresses =
    endpoint.kind === 'host'
      ? (await hostAddresses(resolver, endpoint.host)).map((ip) => tcpAddress(ip, endpoint.port))
      : await serviceAddresses(resolver, endpoint.name);
  return [...new Set(addresses)].sort();
}

async function serviceAddresses(resolver: Resolver, name: string): Promise<string[]> {
  const records = await orNone(resolver.resolveSrv(name));
  const perTarget = await Promise.all(
    records.map(async (record) => (await hostAddresses(resolver, record.name)).map((ip) => tcpAddress(ip, record.port))),
  );
  return perTarget.flat();
}

/** A and AAAA records together; "no records" for one family is normal, a failure of either is not. */
async function hostAddresses(resolver: Resolver, host: string): Promise<string[]> {
  const [v4, v6] = await Promise.all([orNone(resolver.resolve4(host)), orNone(resolver.resolve6(host))]);
  return [...v4, ...v6];
}

async function orNone<T>(lookup: Promise<T[]>): Promise<T[]> {
  try {
    return await lookup;
  } catch (error) {
    if (NO_RECORDS.has((error as NodeJS.ErrnoException).code ?? '')) {
      return [];
    }
    throw error;
  }
}
