import { readFile } from 'node:fs/promises';
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

/** The kustomization fields this renderer applies. Others (patches, labels, generators) are refused, not ignored. */
const SUPPORTED_FIELDS = new Set(['apiVersion', 'kind', 'resources']);

/**
 * Renders a kustomize base made of plain resources: the objects of every file its
 * kustomization.yaml lists, in order. A kustomization using anything else is refused with a
 * message, so the checks can never pass on a base they did not really render.
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
      `kustomization.yaml uses ${unsupported.join(', ')}: this renderer only reads resources (test/deploy/kustomize-base.ts)`,
    );
  }
  if (root.kind !== 'Kustomization' || !Array.isArray(root.resources)) {
    throw new Error('kustomization.yaml must be a Kustomization with a resources list');
  }
  const manifests: Manifest[] = [];
  for (const file of root.resources as string[]) {
    for (const object of await readYamlObjects(join(directory, file))) {
      manifests.push({ file, object: object as Manifest['object'] });
    }
  }
  return manifests;
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
