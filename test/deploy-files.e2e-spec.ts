import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { producerEnvSchema } from '../apps/producer/src/config/producer.env.js';
import { workerEnvSchema } from '../apps/worker/src/config/worker.env.js';
import { CLIENT_DEFAULTS, SERVER_DEFAULTS } from '../libs/nestjs-zeromq/src/internal/options/defaults.js';
import { dockerfileProblems } from './deploy/dockerfile-lint.js';
import { schemaProblems } from './deploy/kubernetes-schema.js';
import { renderKustomizeBase, type Manifest } from './deploy/kustomize-base.js';
import { consistencyProblems, type AppFacts } from './deploy/manifest-checks.js';

const BASE = 'deploy/base';

const APPS: AppFacts[] = [
  { main: 'dist/apps/worker/src/main.js', envNames: Object.keys(workerEnvSchema.shape), closeTimeout: SERVER_DEFAULTS.closeTimeout },
  { main: 'dist/apps/producer/src/main.js', envNames: Object.keys(producerEnvSchema.shape), closeTimeout: CLIENT_DEFAULTS.closeTimeout },
];
/** Variables the manifests may set ahead of the apps reading them: none now. */
const PENDING_ENV_NAMES: string[] = [];

/** One at a time: Jest's ESM loader fails when the same schema modules are imported concurrently. */
async function allSchemaProblems(manifests: Manifest[]): Promise<string[]> {
  const problems: string[] = [];
  for (const manifest of manifests) {
    problems.push(...(await schemaProblems(manifest)));
  }
  return problems;
}

/** A free-form change to one object: the point is to break it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Edit = (object: any) => void;

/** The rendered base with one object changed by `edit`. */
function withEdit(manifests: Manifest[], kind: string, name: string, edit: Edit): Manifest[] {
  const copy = structuredClone(manifests);
  const target = copy.find((manifest) => manifest.object.kind === kind && manifest.object.metadata.name === name);
  if (target === undefined) {
    throw new Error(`the base has no ${kind}/${name}`);
  }
  edit(target.object);
  return copy;
}

describe('deploy files: the kustomize base and the Dockerfile', () => {
  let manifests: Manifest[];

  beforeAll(async () => {
    manifests = await renderKustomizeBase(BASE);
  });

  describe('Kubernetes manifests', () => {
    it('renders the objects the sample apps need', () => {
      expect(manifests.map(({ object }) => `${object.kind}/${object.metadata.name}`).sort()).toEqual([
        'Deployment/orders-producer',
        'Deployment/orders-worker',
        'HorizontalPodAutoscaler/orders-worker',
        'PodDisruptionBudget/orders-producer',
        'PodDisruptionBudget/orders-worker',
        'Secret/orders-producer-curve',
        'Secret/orders-worker-curve',
        'Service/orders-producer',
        'Service/orders-worker',
      ]);
    });

    it('every object is valid against the Kubernetes API schema of its apiVersion and kind', async () => {
      expect(await allSchemaProblems(manifests)).toEqual([]);
    });

    it('the objects fit together and fit the apps (selectors, named ports, Secrets, env, probes, grace period)', () => {
      expect(consistencyProblems(manifests, APPS, PENDING_ENV_NAMES)).toEqual([]);
    });

    it('the apps accept the environment the manifests set (the SRV discovery endpoint, at-least-once, dealer-router)', () => {
      // Values from fieldRefs and Secrets are left out; $(POD_NAMESPACE) is expanded as the kubelet would.
      const envOf = (name: string): Record<string, string> => {
        const deployment = manifests.find(({ object }) => object.kind === 'Deployment' && object.metadata.name === name)!
          .object as unknown as {
          spec: { template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } } };
        };
        const [container] = deployment.spec.template.spec.containers;
        return Object.fromEntries(
          container.env
            .filter((variable) => variable.value !== undefined)
            .map((variable) => [variable.name, variable.value!.replace('$(POD_NAMESPACE)', 'orders')]),
        );
      };
      const producer = producerEnvSchema.parse(envOf('orders-producer'));
      expect(producer).toMatchObject({
        PRODUCER_ENDPOINTS: ['tcp+srv://_zmq._tcp.orders-worker.orders.svc.cluster.local'],
        PRODUCER_DELIVERY: 'at-least-once',
      });
      expect(workerEnvSchema.parse(envOf('orders-worker'))).toMatchObject({ WORKER_KIND: 'dealer-router', WORKER_HTTP_PORT: 8080 });
    });

    it('the worker Service is headless and names the port the SRV records carry', () => {
      const service = manifests.find(({ object }) => object.kind === 'Service' && object.metadata.name === 'orders-worker')!.object;
      expect(service.spec).toMatchObject({ clusterIP: 'None', ports: [{ name: 'zmq', port: 5557, targetPort: 'zmq' }] });
    });

    it('schema validation catches a wrong type, a missing required field and an unknown kind', async () => {
      const broken = [
        ...withEdit(manifests, 'Deployment', 'orders-worker', (object) => (object.spec.replicas = 'two')).filter(
          ({ object }) => object.kind === 'Deployment',
        ),
        ...withEdit(
          manifests,
          'HorizontalPodAutoscaler',
          'orders-worker',
          (object) => delete object.spec.metrics[0].resource.target.type,
        ).filter(({ object }) => object.kind === 'HorizontalPodAutoscaler'),
        { file: 'made-up.yaml', object: { apiVersion: 'apps/v1', kind: 'Deployoment', metadata: { name: 'typo' } } },
      ];
      const problems = await allSchemaProblems(broken);
      expect(problems).toEqual([
        expect.stringMatching(/Deployment\/orders-worker: .*spec\/replicas must be integer/),
        expect.stringMatching(/HorizontalPodAutoscaler\/orders-worker: .*must have required property type/),
        expect.stringContaining('no Kubernetes schema for apps/v1 Deployoment'),
      ]);
    });

    // Each check broken once, alone: the checks report exactly that problem (docs/kubernetes.md).
    const W = 'Deployment/orders-worker';
    const WC = `${W} container worker`;
    it.each<[string, string, string, Edit, string | string[]]>([
      [
        'a selector off the pod labels',
        'Deployment',
        'orders-worker',
        (o) => (o.spec.selector.matchLabels.app = 'other'),
        `${W}: the selector does not match the pod template's labels`,
      ],
      [
        'no pod spec',
        'Deployment',
        'orders-worker',
        (o) => delete o.spec.template.spec,
        [`${W}: no pod spec`, 'Service/orders-worker: targetPort zmq is not a named container port of the pods it selects'],
      ],
      [
        'pods that may run as root',
        'Deployment',
        'orders-worker',
        (o) => delete o.spec.template.spec.securityContext.runAsNonRoot,
        `${W}: pods must set runAsNonRoot`,
      ],
      [
        'a volume of a missing Secret',
        'Deployment',
        'orders-worker',
        (o) => (o.spec.template.spec.volumes[0].secret.secretName = 'nowhere'),
        `${W}: volume curve-secret uses Secret nowhere, which the base does not define`,
      ],
      [
        'a container that may escalate',
        'Deployment',
        'orders-worker',
        (o) => (o.spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation = true),
        `${WC}: needs allowPrivilegeEscalation false, readOnlyRootFilesystem true and capabilities drop ALL`,
      ],
      [
        'a key file outside every mount',
        'Deployment',
        'orders-worker',
        (o) =>
          (o.spec.template.spec.containers[0].env.find((v: { name: string }) => v.name === 'WORKER_CURVE_SECRET_KEY_FILE').value =
            '/tmp/key'),
        `${WC}: WORKER_CURVE_SECRET_KEY_FILE points at /tmp/key, which is in no mounted volume`,
      ],
      [
        'a container that starts no app',
        'Deployment',
        'orders-worker',
        (o) => (o.spec.template.spec.containers[0].args = ['dist/apps/nothing.js']),
        `${WC}: starts none of the apps (dist/apps/worker/src/main.js, dist/apps/producer/src/main.js)`,
      ],
      [
        'a misspelt probe',
        'Deployment',
        'orders-worker',
        (o) => {
          const c = o.spec.template.spec.containers[0];
          c.readinesProbe = c.readinessProbe;
          delete c.readinessProbe;
        },
        `${WC}: no readinessProbe`,
      ],
      [
        'a probe on an unnamed port',
        'Deployment',
        'orders-worker',
        (o) => (o.spec.template.spec.containers[0].livenessProbe.httpGet.port = 'htp'),
        `${WC}: livenessProbe uses port htp, which the container does not name`,
      ],
      [
        'an unknown variable',
        'Deployment',
        'orders-worker',
        (o) => o.spec.template.spec.containers[0].env.push({ name: 'WORKER_CONCURENCY', value: '4' }),
        `${WC}: WORKER_CONCURENCY is not an environment variable the app reads`,
      ],
      [
        'no preStop pause',
        'Deployment',
        'orders-worker',
        (o) => delete o.spec.template.spec.containers[0].lifecycle,
        `${WC}: needs a preStop sleep, so that it leaves the Service's endpoints before SIGTERM`,
      ],
      [
        'a short grace period',
        'Deployment',
        'orders-worker',
        (o) => (o.spec.template.spec.terminationGracePeriodSeconds = 12),
        `${WC}: terminationGracePeriodSeconds 12 must exceed preStop 5 s + closeTimeout 10 s`,
      ],
      [
        'no memory limit',
        'Deployment',
        'orders-worker',
        (o) => delete o.spec.template.spec.containers[0].resources.limits.memory,
        `${WC}: needs cpu and memory requests and a memory limit`,
      ],
      [
        'a Service selecting nothing',
        'Service',
        'orders-producer',
        (o) => (o.spec.selector = { app: 'nobody' }),
        "Service/orders-producer: its selector matches no Deployment's pods",
      ],
      [
        'a wrong target port name',
        'Deployment',
        'orders-worker',
        (o) => (o.spec.template.spec.containers[0].ports.find((p: { name: string }) => p.name === 'zmq').name = 'zeromq'),
        'Service/orders-worker: targetPort zmq is not a named container port of the pods it selects',
      ],
      [
        'a PodDisruptionBudget selecting nothing',
        'PodDisruptionBudget',
        'orders-worker',
        (o) => (o.spec.selector.matchLabels = { app: 'nobody' }),
        "PodDisruptionBudget/orders-worker: its selector matches no Deployment's pods",
      ],
      [
        'an autoscaler of a missing Deployment',
        'HorizontalPodAutoscaler',
        'orders-worker',
        (o) => (o.spec.scaleTargetRef.name = 'orders-wroker'),
        'HorizontalPodAutoscaler/orders-worker: scaleTargetRef Deployment/orders-wroker is not a Deployment of the base',
      ],
    ])('the consistency checks catch %s', (_, kind, name, edit, problems) => {
      expect(consistencyProblems(withEdit(manifests, kind, name, edit), APPS, PENDING_ENV_NAMES)).toEqual([problems].flat());
    });

    it('refuses to render a kustomization that uses more than plain resources', async () => {
      const directory = await mkdtemp(join(tmpdir(), 'nzmq-kustomize-'));
      try {
        await writeFile(
          join(directory, 'kustomization.yaml'),
          'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\npatches: []\n',
        );
        await expect(renderKustomizeBase(directory)).rejects.toThrow('kustomization.yaml uses patches');
      } finally {
        await rm(directory, { recursive: true, force: true });
      }
    });
  });

  describe('Dockerfile', () => {
    const dockerfile = readFileSync('Dockerfile', 'utf8');

    it("prunes to the apps' runtime dependencies: no bench-only Redis or NATS client", async () => {
      // The Dockerfile's own prune command, rehearsed on this checkout (--dry-run changes nothing).
      const prune = /npm prune ([^\n\\&]+)/.exec(readFileSync('Dockerfile', 'utf8'))?.[1].trim().split(/\s+/);
      expect(prune).toBeDefined();
      const removed = await new Promise<string>((resolve, reject) =>
        execFile('npm', ['prune', ...prune!, '--dry-run'], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout) =>
          error ? reject(error) : resolve(stdout),
        ),
      );
      const names = new Set([...removed.matchAll(/^remove (\S+) /gm)].map((match) => match[1]));
      expect(['ioredis', '@nats-io/transport-node', 'jest'].filter((name) => !names.has(name))).toEqual([]);
      expect(['zeromq', '@nestjs/core', '@nestjs/microservices', 'prom-client', 'zod'].filter((name) => names.has(name))).toEqual([]);
    });

    it('passes the linter and the image rules', () => {
      expect(dockerfileProblems(dockerfile)).toEqual([]);
    });

    it('the linter catches a root runtime stage, a shell-form CMD, a misspelt flag and a relative WORKDIR', () => {
      const broken = dockerfile
        .replace(/^USER .*$/m, '')
        .replace(/^CMD .*$/m, 'CMD node dist/apps/producer/src/main.js')
        .replace('--interval=', '--intervall=')
        .replace('WORKDIR /app', 'WORKDIR app');
      expect(dockerfileProblems(broken)).toEqual(
        expect.arrayContaining([
          expect.stringContaining('Unknown flag: intervall'),
          expect.stringContaining('WORKDIR paths should be absolute'),
          'the runtime stage runs as root: add USER with an unprivileged user',
          expect.stringContaining('CMD in shell form'),
        ]),
      );
    });

    describe('HEALTHCHECK script (dist/apps/common/src/healthcheck.js)', () => {
      let server: Server;
      let status = 200;

      beforeAll(async () => {
        server = createServer((request, response) => response.writeHead(request.url === '/health' ? status : 404).end());
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      });
      afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

      const runHealthcheck = (env: Record<string, string>) =>
        new Promise<number>((resolve) => {
          const child = execFile(process.execPath, ['dist/apps/common/src/healthcheck.js'], {
            env: { PATH: process.env.PATH, ...env },
            timeout: 10_000,
          });
          child.on('exit', (code) => resolve(code ?? -1));
        });
      const port = () => String((server.address() as AddressInfo).port);

      /** A worker's container: its orders endpoint is set. */
      const WORKER = { WORKER_ENDPOINTS: 'tcp://0.0.0.0:5557' };

      it('exits 0 when GET /health answers 2xx on WORKER_HTTP_PORT, 1 when it answers 503', async () => {
        status = 200;
        expect(await runHealthcheck({ ...WORKER, WORKER_HTTP_PORT: port() })).toBe(0);
        status = 503;
        expect(await runHealthcheck({ ...WORKER, WORKER_HTTP_PORT: port() })).toBe(1);
      });

      it("fails a worker without an HTTP port, or with port 0, without asking the producer's port", async () => {
        status = 200;
        expect(await runHealthcheck({ ...WORKER, PRODUCER_PORT: port() })).toBe(1);
        expect(await runHealthcheck({ ...WORKER, WORKER_HTTP_PORT: '0', PRODUCER_PORT: port() })).toBe(1);
      });

      it('asks the host the app listens on, and loopback for a wildcard host', async () => {
        status = 200;
        const other = createServer((_request, response) => response.writeHead(200).end());
        await new Promise<void>((resolve) => other.listen(0, '127.0.0.2', resolve));
        try {
          const otherPort = String((other.address() as AddressInfo).port);
          expect(await runHealthcheck({ ...WORKER, WORKER_HTTP_PORT: otherPort, WORKER_HTTP_HOST: '127.0.0.2' })).toBe(0);
          expect(await runHealthcheck({ ...WORKER, WORKER_HTTP_PORT: port(), WORKER_HTTP_HOST: '0.0.0.0' })).toBe(0);
          expect(await runHealthcheck({ PRODUCER_PORT: otherPort, PRODUCER_HOST: '127.0.0.2' })).toBe(0);
        } finally {
          await new Promise<void>((resolve) => other.close(() => resolve()));
        }
      });

      it('uses PRODUCER_PORT when no worker port is set, and HEALTHCHECK_PORT over both', async () => {
        status = 200;
        expect(await runHealthcheck({ PRODUCER_PORT: port() })).toBe(0);
        expect(await runHealthcheck({ HEALTHCHECK_PORT: port(), WORKER_HTTP_PORT: '1', PRODUCER_PORT: '1' })).toBe(0);
      });
    });
  });
});
