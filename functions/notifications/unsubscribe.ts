/**
 * What the unsubscribe pages say, and the key they verify links with. The signing key is read
 * from Secrets Manager once per cold start (#platform/secrets caches it).
 */
import { readSecret } from '#platform/secrets';
import { preferenceCatalogue, type PreferenceName } from './preferences';

/** The setting's own words, as the frontend's settings page shows them. */
export const preferenceLabel = (name: PreferenceName): string => preferenceCatalogue[name].label;

export const unsubscribeKey = (secretId: string) => readSecret(secretId);
