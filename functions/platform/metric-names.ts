/**
 * Where the functions' metrics land in CloudWatch: Powertools Metrics puts each in this
 * namespace with a `service` dimension. A module without dependencies, because the stack's
 * alarms (lib/metrics.ts) must name the very same at synth time.
 */
export const metricsNamespace = 'Tokenwatch';
export const serviceName = 'tokenwatch';
