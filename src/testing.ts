/**
 * `supaguard/testing` — the vitest conformance suite every cache layer must
 * pass. Requires `vitest` (an optional peer dependency).
 *
 * @module
 */
export { runLayerConformance, type LayerConformanceOptions } from './testing/layer-conformance.js';
