import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { ZeroMqBroadcastProxy } from '../proxy/zeromq-broadcast-proxy.js';
import type { ZeroMqBroadcastProxyOptions } from '../proxy/zeromq-broadcast-proxy.options.js';
import type { ZeroMqCurveKey } from '../zeromq.curve.options.js';

/** The `proxy` command's options, as commander parses them. */
export interface ProxyCommandOptions {
  frontend: string[];
  backend: string[];
  secretKeyFile?: string;
  subscriberPublicKey?: string;
  allowSubscriber?: string[];
  allowPublisher?: string[];
  highWaterMark?: string;
  maxMessageSize?: string;
  connectionBudget?: string;
}

/** A public key on the command line: the path of a file holding it, else the Z85 text itself (checked later). */
function keyOrFile(value: string): ZeroMqCurveKey {
  return existsSync(value) ? { file: value } : value;
}

/**
 * The proxy's options from the command line. CURVE needs the secret key file and one way to admit
 * subscribers: their shared public key, or the list of those allowed in.
 */
export function proxyOptions(options: ProxyCommandOptions): ZeroMqBroadcastProxyOptions {
  const curveFlags = [options.secretKeyFile, options.subscriberPublicKey, options.allowSubscriber, options.allowPublisher];
  const subscriberFlags = [options.subscriberPublicKey, options.allowSubscriber].filter((flag) => flag !== undefined).length;
  if (curveFlags.some((flag) => flag !== undefined) && (options.secretKeyFile === undefined || subscriberFlags !== 1)) {
    throw new Error('CURVE needs --secret-key-file and one of --subscriber-public-key or --allow-subscriber');
  }
  return {
    frontend: options.frontend,
    backend: options.backend,
    ...(options.highWaterMark === undefined ? {} : { highWaterMark: Number(options.highWaterMark) }),
    ...(options.maxMessageSize === undefined ? {} : { maxMessageSize: Number(options.maxMessageSize) }),
    ...(options.connectionBudget === undefined ? {} : { connectionBudget: Number(options.connectionBudget) }),
    ...(options.secretKeyFile === undefined
      ? {}
      : {
          curve: {
            secretKey: { file: options.secretKeyFile },
            ...(options.subscriberPublicKey === undefined ? {} : { subscriberPublicKey: keyOrFile(options.subscriberPublicKey) }),
            ...(options.allowSubscriber === undefined ? {} : { allowSubscribers: options.allowSubscriber.map(keyOrFile) }),
            ...(options.allowPublisher === undefined ? {} : { allowPublishers: options.allowPublisher.map(keyOrFile) }),
          },
        }),
  };
}

/** Runs a broadcast proxy until SIGINT or SIGTERM, then closes it; `log` prints its lines. */
export async function runProxy(options: ProxyCommandOptions, log: (line: string) => void): Promise<void> {
  const proxy = new ZeroMqBroadcastProxy(proxyOptions(options));
  await proxy.start();
  const { frontend, backend } = proxy.getAddresses();
  log(`Broadcast proxy: publishers connect to ${frontend.join(', ')}; subscribers to ${backend.join(', ')}`);
  const signal = await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]);
  log(`Stopping the proxy (${String(signal[0] ?? 'signal')})`);
  await proxy.close();
}
