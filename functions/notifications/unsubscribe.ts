/**
 * What the unsubscribe pages say, and the key they verify links with. The signing key is read
 * from Secrets Manager once per cold start (#platform/secrets caches it).
 */
import { readSecret } from '#platform/secrets';
import type { PreferenceName } from '#platform/schemas';

/** The settings' own words, as the frontend's Settings page shows them. */
export const preferenceLabels: Record<PreferenceName, string> = {
  ownerExpiredToken: 'Expired token notifications for your Instagram accounts',
  developerExpiredToken: 'Expired token notifications for the developer',
};

export const unsubscribeKey = (secretId: string) => readSecret(secretId);
