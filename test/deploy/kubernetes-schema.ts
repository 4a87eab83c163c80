import type { Manifest } from './kustomize-base.js';

interface ModelClass {
  new (data: unknown): { validate(): void };
}

/**
 * Checks one object against the Kubernetes API's OpenAPI schema for its apiVersion and kind, as
 * shipped by kubernetes-models (types, formats, required fields). Returns the problems found,
 * empty when the object is valid. The OpenAPI schemas do not forbid unknown fields (the API server
 * does, with kubectl's default strict validation): the consistency checks of the deploy spec read
 * the fields that matter, so a misspelt one shows up there.
 */
export async function schemaProblems({ file, object }: Manifest): Promise<string[]> {
  const where = `${file} ${object?.kind ?? '?'}/${object?.metadata?.name ?? '?'}`;
  if (typeof object?.apiVersion !== 'string' || typeof object.kind !== 'string') {
    return [`${where}: apiVersion and kind are required`];
  }
  const model = await modelFor(object.apiVersion, object.kind);
  if (model === undefined) {
    return [`${where}: no Kubernetes schema for ${object.apiVersion} ${object.kind}`];
  }
  try {
    new model(object).validate();
    return [];
  } catch (error) {
    return [`${where}: ${(error as Error).message}`];
  }
}

/** kubernetes-models has one module per API group version, named like the apiVersion (`apps/v1`, `v1`). */
async function modelFor(apiVersion: string, kind: string): Promise<ModelClass | undefined> {
  if (!/^[a-z0-9.]+\/v[0-9a-z]+$|^v1$/.test(apiVersion)) {
    return undefined;
  }
  let group: Record<string, unknown>;
  try {
    group = (await import(`kubernetes-models/${apiVersion}`)) as Record<string, unknown>;
  } catch (error) {
    if (
      /Cannot find module|ERR_PACKAGE_PATH_NOT_EXPORTED/.test(
        String((error as Error).message) + String((error as NodeJS.ErrnoException).code),
      )
    ) {
      return undefined;
    }
    throw error;
  }
  const model = group[kind] as (ModelClass & { kind?: string }) | undefined;
  return model?.kind === kind ? model : undefined;
}
