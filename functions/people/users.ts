/**
 * The widget service tells tokenwatch about its users (the service API, the import), and erases
 * one when a privacy request asks for it. Inputs are validated at the edge.
 */
import { memberRelationKey } from '#storage/keys';
import type { ProfileRepository } from './profiles';
import type { UserProfile } from './user';
import type { UserItemStore } from './user-items';

/** Storing a profile: what `upsertUser` needs. */
export type ProfileWriter = Pick<ProfileRepository, 'putProfile'>;

/** Stores (or replaces) a user's profile. A repeat writes the same item: idempotent. */
export async function upsertUser(
  store: ProfileWriter,
  userId: string,
  input: Pick<UserProfile, 'email' | 'name'>,
): Promise<UserProfile> {
  const profile: UserProfile = { userId, email: input.email, name: input.name };
  await store.putProfile(profile);
  return profile;
}

/**
 * Erases a user: their profile and preferences, their developer roles, the send-once records
 * of every email they were sent, the reconnect links they made (which hold their id, and whose
 * page would name them) and what SES said about their address (kept under its hash, which still
 * names it to anyone who knows the address). Nothing about them is kept: a link they made stops
 * working. Should another user share that address, it is no longer suppressed for them either;
 * SES's own suppression list (the configuration set's) still refuses a hard-bounced one, and
 * the bounce that refusal reports records it again.
 *
 * The accounts they own are not deleted: an account belongs to the widget service's client as
 * much as to its owner's login, and the widget service deletes it explicitly
 * (`disconnectAccount`) or hands it to another owner.
 */
export async function eraseUser(store: UserItemStore, userId: string): Promise<void> {
  const [own, named, address] = await Promise.all([
    store.ownItemsOf(userId),
    store.itemsNaming(userId),
    store.addressItemsOf(userId),
  ]);
  const erased = named
    .filter((item) => !memberRelationKey.isOwner(item.relation))
    .map((item) => item.key);
  await store.deleteItems([...own, ...erased, ...address]);
}
