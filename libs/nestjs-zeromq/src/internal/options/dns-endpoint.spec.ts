import { ZeroMqOptionsError } from '../../zeromq.errors.js';
import { isDnsEndpoint, parseDnsEndpoint, tcpAddress } from './dns-endpoint.js';

describe('DNS discovery endpoints', () => {
  it('tcp+dns://host:port names every A/AAAA record of the host on that port', () => {
    expect(parseDnsEndpoint('tcp+dns://workers.orders.svc.cluster.local:5557')).toEqual({
      kind: 'host',
      host: 'workers.orders.svc.cluster.local',
      port: 5557,
      endpoint: 'tcp+dns://workers.orders.svc.cluster.local:5557',
    });
    expect(parseDnsEndpoint('tcp+dns://workers.test.:1')).toMatchObject({ host: 'workers.test.', port: 1 });
    expect(parseDnsEndpoint('tcp+dns://workers.test:65535')).toMatchObject({ port: 65_535 });
  });

  it('takes a name of up to 253 characters', () => {
    const host = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    expect(host).toHaveLength(253);
    expect(parseDnsEndpoint(`tcp+dns://${host}:5557`)).toMatchObject({ host });
    expect(() => parseDnsEndpoint(`tcp+dns://${host}d:5557`)).toThrow(`"${host}d" is not a DNS name`);
  });

  it('tcp+srv://_service._tcp.name names the SRV records of the name (ports from the records)', () => {
    expect(parseDnsEndpoint('tcp+srv://_zmq._tcp.workers.orders.svc.cluster.local')).toEqual({
      kind: 'service',
      name: '_zmq._tcp.workers.orders.svc.cluster.local',
      endpoint: 'tcp+srv://_zmq._tcp.workers.orders.svc.cluster.local',
    });
  });

  it.each([
    ['tcp+dns://workers.test', 'expected tcp+dns://host:port'],
    ['tcp+dns://workers.test:0', 'port 0 is outside 1-65535'],
    ['tcp+dns://workers.test:70000', 'port 70000 is outside 1-65535'],
    ['tcp+dns://workers.test:5557/path', 'expected tcp+dns://host:port'],
    ['tcp+dns://workers.test/v1:5557', 'expected tcp+dns://host:port'],
    ['tcp+dns://10.0.0.1:5557', 'an IP address needs no discovery: use tcp://'],
    ['tcp+dns://-bad.test:5557', '"-bad.test" is not a DNS name'],
    ['tcp+dns://a..b:5557', '"a..b" is not a DNS name'],
    ['tcp+dns://a..b.:5557', '"a..b." is not a DNS name'],
    ['tcp+dns://workers-:5557', '"workers-" is not a DNS name'],
    [`tcp+dns://${'a'.repeat(64)}.test:5557`, 'is not a DNS name'],
    ['tcp+srv://_zmq._tcp.workers.test:5557', 'the SRV records carry the port'],
    ['tcp+srv://workers.test', 'an SRV name starts with _<service>._tcp.'],
    ['tcp+srv://_zmq._udp.workers.test', 'an SRV name starts with _<service>._tcp.'],
    ['tcp+srv://a._zmq._tcp.workers.test', 'an SRV name starts with _<service>._tcp.'],
    ['tcp://127.0.0.1:5557', 'expected tcp+dns://host:port or tcp+srv://_service._tcp.name'],
  ])('%s is refused: %s', (address, problem) => {
    expect(() => parseDnsEndpoint(address)).toThrow(ZeroMqOptionsError);
    expect(() => parseDnsEndpoint(address)).toThrow(problem);
  });

  it('tells discovery endpoints from addresses', () => {
    expect(['tcp+dns://a:1', 'tcp+srv://_a._tcp.b', 'tcp://a:1', 'ipc:///tmp/a'].map(isDnsEndpoint)).toEqual([true, true, false, false]);
  });

  it('writes resolved IPs as ZeroMQ tcp addresses, IPv6 in brackets', () => {
    expect(tcpAddress('10.1.2.3', 5557)).toBe('tcp://10.1.2.3:5557');
    expect(tcpAddress('fd00::1', 5557)).toBe('tcp://[fd00::1]:5557');
  });
});
