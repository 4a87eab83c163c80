import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

/** A Kubernetes object as read from a manifest, with the file it came from. */
export interface Manifest {
  file: string;
  object: {
    apiVersion: string;
    kind: string;
    metadata: { name: string; labels?: Record<string, string> };
    [field: string]: unknown;
  };
}

/** The kustomization fields this renderer applies. Others (labels, images, generators) are refused, not ignored. */
const SUPPORTED_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'patches']);

/**
 * Renders a kustomization made of plain resources: the objects of every file its
 * kustomization.yaml lists, in order, a directory standing for the kustomization in it (an
 * overlay's base). Patches may only delete an object (`$patch: delete`, by apiVersion, kind and
 * name). A kustomization using anything else is refused with a message, so the checks can never
 * pass on a base they did not really render.
 */
export async function renderKustomizeBase(directory: string): Promise<Manifest[]> {
  const kustomization = await readYamlObjects(join(directory, 'kustomization.yaml'));
  if (kustomization.length !== 1) {
    throw new Error(`${directory}/kustomization.yaml must hold exactly one document`);
  }
  const [root] = kustomization;
  const unsupported = Object.keys(root).filter((field) => !SUPPORTED_FIELDS.has(field));
  if (unsupported.length > 0) {
    throw new Error(
      `kustomization.yaml uses ${unsupported.join(', ')}: this renderer only reads resources and delete patches (test/deploy/kustomize-base.ts)`,
    );
  }
  if (root.kind !== 'Kustomization' || !Array.isArray(root.resources)) {
    throw new Error('kustomization.yaml must be a Kustomization with a resources list');
  }
  let manifests: Manifest[] = [];
  for (const resource of root.resources as string[]) {
    const path = join(directory, resource);
    if ((await stat(path)).isDirectory()) {
      manifests.push(...(await renderKustomizeBase(path)));
      continue;
    }
    for (const object of await readYamlObjects(path)) {
      manifests.push({ file: resource, object: object as Manifest['object'] });
    }
  }
  for (const patch of (root.patches ?? []) as Array<{ path?: string }>) {
    manifests = await deleted(manifests, directory, patch);
  }
  return manifests;
}

/** The manifests without the object a `$patch: delete` patch names; any other patch is refused. */
async function deleted(manifests: Manifest[], directory: string, patch: { path?: string }): Promise<Manifest[]> {
  const documents = patch.path === undefined ? [] : await readYamlObjects(join(directory, patch.path));
  const [target] = documents as Array<Manifest['object'] & { $patch?: string }>;
  if (documents.length !== 1 || target.$patch !== 'delete' || Object.keys(patch).join() !== 'path') {
    throw new Error(`patch ${JSON.stringify(patch)}: this renderer only applies a file holding one $patch: delete`);
  }
  const matches = (object: Manifest['object']) =>
    object.apiVersion === target.apiVersion && object.kind === target.kind && object.metadata.name === target.metadata?.name;
  if (!manifests.some(({ object }) => matches(object))) {
    throw new Error(`patch ${patch.path} deletes ${target.kind}/${target.metadata?.name}, which is not there`);
  }
  return manifests.filter(({ object }) => !matches(object));
}

/** Every non-empty document of a YAML file; a syntax error names the file. */
async function readYamlObjects(path: string): Promise<Array<Record<string, unknown>>> {
  const documents = parseAllDocuments(await readFile(path, 'utf8'), { prettyErrors: true });
  const objects: Array<Record<string, unknown>> = [];
  for (const document of documents) {
    if (document.errors.length > 0) {
      throw new Error(`${path}: ${document.errors.map((error) => error.message).join('; ')}`);
    }
    const value: unknown = document.toJS();
    if (value !== null && value !== undefined) {
      objects.push(value as Record<string, unknown>);
    }
  }
  return objects;
}
