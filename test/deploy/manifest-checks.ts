import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import type { Manifest } from './kustomize-base.js';

/** What the checks need to know about one app of the image. */
export interface AppFacts {
  /** The container args that start it, e.g. `dist/apps/worker/src/main.js`. */
  main: string;
  /** Environment variables the app reads (its env schema's keys). */
  envNames: readonly string[];
  /** The app's shutdown deadline: how long it may drain after SIGTERM, in ms. */
  closeTimeout: number;
}

/** A Deployment or a StatefulSet: what makes pods from a template. */
type Workload = Manifest['object'] & {
  spec: {
    selector: { matchLabels: Record<string, string> };
    template: IPodTemplateSpec;
    serviceName?: string;
    volumeClaimTemplates?: Array<{ metadata?: { name?: string } }>;
  };
};

/** The variable that puts the producer's durable outbox on a path. */
const OUTBOX_PATH_ENV = 'PRODUCER_OUTBOX_PATH';

/**
 * Checks that the manifests fit together and fit the apps: selectors match pods, named ports and
 * Secrets exist, key files lie in mounted volumes, env names are ones the app reads, every
 * container has probes, resources and a preStop pause, and the grace period covers preStop plus
 * the app's drain deadline. Returns the problems; empty when consistent.
 */
export function consistencyProblems(manifests: Manifest[], apps: readonly AppFacts[], pendingEnvNames: readonly string[]): string[] {
  const problems: string[] = [];
  const objects = manifests.map((manifest) => manifest.object);
  const workloads = objects.filter((object): object is Workload => object.kind === 'Deployment' || object.kind === 'StatefulSet');
  const secretNames = new Set(objects.filter((object) => object.kind === 'Secret').map((object) => object.metadata.name));
  const serviceNames = new Set(objects.filter((object) => object.kind === 'Service').map((object) => object.metadata.name));
  const selects = (selector: Record<string, string> | undefined) =>
    workloads.filter((workload) => selector !== undefined && labelsMatch(selector, workload.spec.template.metadata?.labels));

  for (const workload of workloads) {
    const where = `${workload.kind}/${workload.metadata.name}`;
    const pod = workload.spec.template.spec;
    if (workload.kind === 'StatefulSet' && !serviceNames.has(workload.spec.serviceName ?? '')) {
      problems.push(`${where}: serviceName ${workload.spec.serviceName} is not a Service of the base`);
    }
    if (!labelsMatch(workload.spec.selector.matchLabels, workload.spec.template.metadata?.labels)) {
      problems.push(`${where}: the selector does not match the pod template's labels`);
    }
    if (pod === undefined) {
      problems.push(`${where}: no pod spec`);
      continue;
    }
    if (pod.securityContext?.runAsNonRoot !== true) {
      problems.push(`${where}: pods must set runAsNonRoot`);
    }
    for (const volume of pod.volumes ?? []) {
      if (volume.secret !== undefined && !secretNames.has(volume.secret.secretName ?? '')) {
        problems.push(`${where}: volume ${volume.name} uses Secret ${volume.secret.secretName}, which the base does not define`);
      }
    }
    for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
      problems.push(...securityProblems(`${where} container ${container.name}`, container));
      problems.push(...fileEnvProblems(`${where} container ${container.name}`, container));
    }
    for (const container of pod.containers) {
      const app = apps.find((candidate) => container.args?.includes(candidate.main));
      const here = `${where} container ${container.name}`;
      if (app === undefined) {
        problems.push(`${here}: starts none of the apps (${apps.map((candidate) => candidate.main).join(', ')})`);
        continue;
      }
      problems.push(...probeProblems(here, container));
      problems.push(...outboxProblems(here, container, workload));
      problems.push(...envNameProblems(here, container, [...app.envNames, ...pendingEnvNames]));
      const preStop = preStopSeconds(container);
      if (preStop === undefined) {
        problems.push(`${here}: needs a preStop sleep, so that it leaves the Service's endpoints before SIGTERM`);
      } else if ((pod.terminationGracePeriodSeconds ?? 30) <= preStop + app.closeTimeout / 1000) {
        problems.push(
          `${here}: terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds ?? 30} must exceed preStop ${preStop} s + closeTimeout ${app.closeTimeout / 1000} s`,
        );
      }
      if (
        container.resources?.requests?.cpu === undefined ||
        container.resources.requests.memory === undefined ||
        container.resources.limits?.memory === undefined
      ) {
        problems.push(`${here}: needs cpu and memory requests and a memory limit`);
      }
    }
  }

  for (const object of objects) {
    const where = `${object.kind}/${object.metadata.name}`;
    const spec = object.spec as Record<string, unknown> | undefined;
    if (object.kind === 'Service') {
      const targets = selects(spec?.selector as Record<string, string>);
      if (targets.length === 0) {
        problems.push(`${where}: its selector matches no workload's pods`);
      }
      for (const port of (spec?.ports as Array<{ name?: string; targetPort?: string | number }>) ?? []) {
        const named = typeof port.targetPort === 'string' ? port.targetPort : undefined;
        if (
          named !== undefined &&
          !targets.every((workload) =>
            workload.spec.template.spec?.containers.some((container) => container.ports?.some((p) => p.name === named)),
          )
        ) {
          problems.push(`${where}: targetPort ${named} is not a named container port of the pods it selects`);
        }
      }
    }
    if (
      object.kind === 'PodDisruptionBudget' &&
      selects((spec?.selector as { matchLabels?: Record<string, string> })?.matchLabels).length === 0
    ) {
      problems.push(`${where}: its selector matches no workload's pods`);
    }
    if (object.kind === 'HorizontalPodAutoscaler') {
      const target = spec?.scaleTargetRef as { kind?: string; name?: string } | undefined;
      if (
        target?.kind !== 'Deployment' ||
        !workloads.some((workload) => workload.kind === 'Deployment' && workload.metadata.name === target.name)
      ) {
        problems.push(`${where}: scaleTargetRef ${target?.kind}/${target?.name} is not a Deployment of the base`);
      }
    }
  }
  return problems;
}

function labelsMatch(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}

function securityProblems(where: string, container: IContainer): string[] {
  const context = container.securityContext;
  return context?.allowPrivilegeEscalation === false &&
    context.readOnlyRootFilesystem === true &&
    context.capabilities?.drop?.includes('ALL')
    ? []
    : [`${where}: needs allowPrivilegeEscalation false, readOnlyRootFilesystem true and capabilities drop ALL`];
}

/** Readiness and liveness probes on a named port of the container. */
function probeProblems(where: string, container: IContainer): string[] {
  const problems: string[] = [];
  for (const [kind, probe] of [
    ['readinessProbe', container.readinessProbe],
    ['livenessProbe', container.livenessProbe],
  ] as const) {
    const port = probe?.httpGet?.port;
    if (probe === undefined) {
      problems.push(`${where}: no ${kind}`);
    } else if (typeof port === 'string' && !container.ports?.some((candidate) => candidate.name === port)) {
      problems.push(`${where}: ${kind} uses port ${port}, which the container does not name`);
    }
  }
  return problems;
}

/** Every variable is one the app reads, or a helper that another value refers to as $(NAME). */
function envNameProblems(where: string, container: IContainer, known: readonly string[]): string[] {
  const env = container.env ?? [];
  const referenced = new Set(
    env.flatMap((variable) => [...(variable.value ?? '').matchAll(/\$\(([A-Z0-9_]+)\)/g)].map((match) => match[1])),
  );
  return env
    .filter((variable) => !known.includes(variable.name) && !referenced.has(variable.name))
    .map((variable) => `${where}: ${variable.name} is not an environment variable the app reads`);
}

/** Paths in *_FILE / *_FILES variables lie in a volume mounted into the container. */
function fileEnvProblems(where: string, container: IContainer): string[] {
  const mounts = (container.volumeMounts ?? []).map((mount) => `${mount.mountPath.replace(/\/$/, '')}/`);
  return (container.env ?? [])
    .filter((variable) => /_FILES?$/.test(variable.name) && variable.value !== undefined)
    .flatMap((variable) => variable.value!.split(',').map((path) => ({ name: variable.name, path: path.trim() })))
    .filter(({ path }) => !mounts.some((mount) => path.startsWith(mount)))
    .map(({ name, path }) => `${where}: ${name} points at ${path}, which is in no mounted volume`);
}

/**
 * A durable outbox belongs to one producer process and must outlive its pod: its path lies on a
 * writable mount of a StatefulSet's volumeClaimTemplate (a claim per pod), never on a Deployment,
 * whose replicas would share one volume or have none that lasts.
 */
function outboxProblems(where: string, container: IContainer, workload: Workload): string[] {
  const path = container.env?.find((variable) => variable.name === OUTBOX_PATH_ENV)?.value;
  if (path === undefined) {
    return [];
  }
  if (workload.kind !== 'StatefulSet') {
    return [`${where}: ${OUTBOX_PATH_ENV} needs a volume per pod: run the producer as a StatefulSet with a volumeClaimTemplate`];
  }
  const claims = new Set((workload.spec.volumeClaimTemplates ?? []).map((claim) => claim.metadata?.name));
  const mount = (container.volumeMounts ?? []).find((candidate) => `${path}/`.startsWith(`${candidate.mountPath.replace(/\/$/, '')}/`));
  if (mount === undefined || !claims.has(mount.name)) {
    return [`${where}: ${OUTBOX_PATH_ENV} ${path} is on no volumeClaimTemplate's mount`];
  }
  return mount.readOnly === true ? [`${where}: ${OUTBOX_PATH_ENV} ${path} is on a read-only mount`] : [];
}

/** Seconds of an exec `sleep N` preStop hook. */
function preStopSeconds(container: IContainer): number | undefined {
  const command = container.lifecycle?.preStop?.exec?.command;
  return command?.[0] === 'sleep' && /^\d+$/.test(command[1] ?? '') ? Number(command[1]) : undefined;
}
