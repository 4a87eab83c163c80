// The library's import rules, checked by `npm run lint` (dependency-cruiser). Type-only imports
// count: a circle through types still ties the files into one knot for a reader.
//
// The layers of libs/nestjs-zeromq/src/internal, from the bottom: each may import those below it,
// never one above it. The public vocabulary files (options, events, errors, context, metrics types,
// constants, the record builder) may be imported from anywhere and import no client, kind or adapter.
const SRC = '^libs/nestjs-zeromq/src/';
const INTERNAL = `${SRC}internal/`;
const LAYERS = [
  { name: 'protocol', path: `${INTERNAL}protocol/` },
  { name: 'security', path: `${INTERNAL}security/` },
  { name: 'options', path: `${INTERNAL}options/` },
  { name: 'sockets', path: `${INTERNAL}sockets/` },
  { name: 'discovery', path: `${INTERNAL}discovery/` },
  // Below the client: the tracker knows its links by name only (DeliveryLink), not the outboxes.
  { name: 'at-least-once', path: `${INTERNAL}at-least-once/` },
  { name: 'client/server', path: `${INTERNAL}(client|server)/` },
  { name: 'kinds', path: `${INTERNAL}kinds/` },
  { name: 'adapters', path: `${SRC}zeromq\\.(client|server)\\.ts$` },
];
/** What stands on the adapters: the barrels, the optional integrations, the proxy, the CLI. */
const ABOVE_ADAPTERS = `${SRC}(index\\.ts$|health/|metrics/|tracing/|testing/|hooks/|proxy/|cli/)`;
const VOCABULARY = `${SRC}(zeromq\\.(?!(client|server)\\.ts$)[a-z.-]+\\.ts$|constants\\.ts$|discovery/|record-builders/)`;

const layerRules = LAYERS.map((layer, index) => ({
  name: `layer-${layer.name}`,
  comment: `${layer.name} imports only the layers below it (${
    LAYERS.slice(0, index)
      .map((below) => below.name)
      .join(', ') || 'none'
  }), util and patterns`,
  severity: 'error',
  from: { path: layer.path, pathNot: '\\.spec\\.ts$' },
  to: { path: [...LAYERS.slice(index + 1).map((above) => above.path), ABOVE_ADAPTERS] },
}));

export default {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import circle in the library, type imports included',
      severity: 'error',
      from: { path: SRC, pathNot: '\\.spec\\.ts$' },
      to: { circular: true, viaOnly: { pathNot: '\\.spec\\.ts$' } },
    },
    ...layerRules,
    {
      name: 'internal-folder-in-a-layer',
      comment: 'Every folder of internal/ is in a layer (LAYERS) or is util or patterns',
      severity: 'error',
      from: { path: INTERNAL, pathNot: [...LAYERS.map((layer) => layer.path), `${INTERNAL}(util|patterns)/`, '\\.spec\\.ts$'] },
      to: {},
    },
    {
      name: 'util-below-all',
      comment: 'internal/util and internal/patterns stand below every layer: they import only each other and the vocabulary',
      severity: 'error',
      from: { path: `${INTERNAL}(util|patterns)/`, pathNot: '\\.spec\\.ts$' },
      to: { path: SRC, pathNot: [`${INTERNAL}(util|patterns)/`, VOCABULARY] },
    },
    {
      name: 'vocabulary-stays-low',
      comment: 'The public vocabulary files import no kinds, adapters or what stands on them',
      severity: 'error',
      from: { path: VOCABULARY },
      to: { path: [`${INTERNAL}kinds/`, `${INTERNAL}client/`, LAYERS.at(-1).path, ABOVE_ADAPTERS] },
    },
  ],
  options: {
    includeOnly: SRC,
    exclude: { path: '(\\.spec\\.ts$|/dist/)' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
