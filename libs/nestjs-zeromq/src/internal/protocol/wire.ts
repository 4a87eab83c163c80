/** The wire protocol (docs/protocol.md): every piece of framing the library speaks, in one place. */
export * from './headers.js';
export * from './records.js';
export * from './messages.js';
export * from './decode.js';
export { fragmentFields, FragmentWriter, joinFragments, type Fragment } from './packing.js';
