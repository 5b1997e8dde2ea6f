/**
 * `supaguard/otel` — supaguard's metrics and spans through the OpenTelemetry API.
 * Requires the optional peer `@opentelemetry/api`.
 *
 * @module
 */
export * from './observe/otel.js';
