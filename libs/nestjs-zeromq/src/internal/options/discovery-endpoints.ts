import { isDnsEndpoint, parseDnsEndpoint } from './dns-endpoint.js';
import { ZeroMqOptionsError } from '../../zeromq.errors.js';
import type { ResolvedEndpoint, SocketPlan } from './plans.js';

/**
 * Checks the DNS discovery endpoints (`tcp+dns://`, `tcp+srv://`) of the planned sockets: well
 * formed, and connected to (a name lists peers to connect to; there is nothing to bind).
 */
export function checkDiscoveryEndpoints(owner: string, plans: readonly SocketPlan[]): void {
  for (const plan of plans) {
    for (const endpoint of plan.endpoints) {
      if (!isDnsEndpoint(endpoint.address)) {
        continue;
      }
      try {
        parseDnsEndpoint(endpoint.address);
      } catch (error) {
        throw new ZeroMqOptionsError(`Invalid ${owner} options: socket "${plan.name}": ${(error as Error).message}`);
      }
      if (endpoint.bind) {
        throw new ZeroMqOptionsError(
          `Invalid ${owner} options: socket "${plan.name}" would bind ${endpoint.address}; a discovery endpoint names peers to connect to: set bind: false`,
        );
      }
    }
  }
}

/** Whether any planned socket follows a DNS name. */
export function usesDiscovery(plans: readonly SocketPlan[]): boolean {
  return plans.some((plan) => plan.endpoints.some((endpoint) => isDnsEndpoint(endpoint.address)));
}

/** The endpoints that are addresses, not DNS names. */
export function fixedEndpoints(endpoints: readonly ResolvedEndpoint[]): ResolvedEndpoint[] {
  return endpoints.filter((endpoint) => !isDnsEndpoint(endpoint.address));
}
