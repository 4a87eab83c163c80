import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { proxyOptions } from './proxy.js';

describe('nestjs-zeromq proxy: options', () => {
  const key = 'rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7';

  const dir = mkdtempSync(join(tmpdir(), 'nzmq-proxy-cli-'));
  const keyFile = join(dir, 'producer.pub');
  writeFileSync(keyFile, `${key}\n`);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('maps the flags; a public key is Z85 text or a file path', () => {
    expect(
      proxyOptions({
        frontend: ['tcp://0.0.0.0:5560'],
        backend: ['tcp://0.0.0.0:5561', 'ipc:///run/b.sock'],
        secretKeyFile: '/run/secrets/proxy.key',
        subscriberPublicKey: key,
        allowPublisher: [key, keyFile],
        highWaterMark: '5000',
        maxMessageSize: '1048576',
        connectionBudget: '16777216',
      }),
    ).toEqual({
      frontend: ['tcp://0.0.0.0:5560'],
      backend: ['tcp://0.0.0.0:5561', 'ipc:///run/b.sock'],
      highWaterMark: 5000,
      maxMessageSize: 1_048_576,
      connectionBudget: 16_777_216,
      curve: { secretKey: { file: '/run/secrets/proxy.key' }, subscriberPublicKey: key, allowPublishers: [key, { file: keyFile }] },
    });
  });

  it('admits subscribers by list with --allow-subscriber', () => {
    expect(
      proxyOptions({ frontend: ['tcp://a:1'], backend: ['tcp://a:2'], secretKeyFile: '/run/secrets/proxy.key', allowSubscriber: [keyFile] })
        .curve,
    ).toEqual({ secretKey: { file: '/run/secrets/proxy.key' }, allowSubscribers: [{ file: keyFile }] });
  });

  it('refuses half a CURVE setup, and two ways to admit subscribers', () => {
    const message = 'CURVE needs --secret-key-file and one of --subscriber-public-key or --allow-subscriber';
    expect(() => proxyOptions({ frontend: ['tcp://a:1'], backend: ['tcp://a:2'], allowPublisher: [key] })).toThrow(message);
    expect(() => proxyOptions({ frontend: ['tcp://a:1'], backend: ['tcp://a:2'], secretKeyFile: keyFile })).toThrow(message);
    expect(() =>
      proxyOptions({
        frontend: ['tcp://a:1'],
        backend: ['tcp://a:2'],
        secretKeyFile: keyFile,
        subscriberPublicKey: key,
        allowSubscriber: [key],
      }),
    ).toThrow(message);
  });
});
