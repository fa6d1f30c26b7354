/**
 * Every repository over one table, as one object: for the local stack's seeding and its jobs,
 * the tests and the benchmark, which touch every kind of item. Production code never uses it:
 * each handler builds only the repositories it needs, and each core names the ports it uses.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  createPreferencesRepository,
  type PreferencesRepository,
} from '../functions/notifications/preferences-store';
import { createSendOnceLedger, type SendOnceLedger } from '../functions/notifications/ledger';
import { createProfileRepository, type ProfileRepository } from '../functions/people/profiles';
import { createUserItemStore, type UserItemStore } from '../functions/people/user-items';
import {
  createSuppressionStore,
  type SuppressionStore,
} from '../functions/people/suppression-store';
import {
  createAccountConnections,
  type AccountConnector,
  type AccountEraser,
} from '../functions/tokens/account-connections';
import { createAccountRepository, type AccountRepository } from '../functions/tokens/accounts';
import { createAccountWriter, type AccountWriter } from './account-writer';
import {
  createDeveloperRoleRepository,
  type DeveloperRoleRepository,
} from '../functions/tokens/developer-roles';
import {
  createReconnectLinkStore,
  type ReconnectLinkStore,
} from '../functions/tokens/reconnect-link-store';
import { createDueTokenSchedule, type DueTokenSchedule } from '../functions/tokens/due-tokens';
import { createMemberships, type Memberships } from '../functions/tokens/memberships';
import { createRefreshLease, type RefreshLease } from '../functions/tokens/refresh-lease';
import { createRefreshSchedule, type RefreshSchedule } from '../functions/tokens/refresh-schedule';
import {
  createWaitingNoticeStore,
  type WaitingNoticeStore,
} from '../functions/notifications/waiting-notices';
import { createStormStore, type StormStore } from '../functions/storm/storm-store';
import { createNoticeReads, type NoticeReads } from '../functions/notifications/notice-reads';
import { createNoticeClaims, type NoticeClaims } from '../functions/notifications/notice-claim';

export type TableStore = AccountRepository &
  AccountWriter &
  AccountConnector &
  AccountEraser &
  DueTokenSchedule &
  DeveloperRoleRepository &
  Memberships &
  RefreshLease &
  RefreshSchedule &
  ProfileRepository &
  UserItemStore &
  SuppressionStore &
  PreferencesRepository &
  SendOnceLedger &
  ReconnectLinkStore &
  WaitingNoticeStore &
  StormStore &
  NoticeReads &
  NoticeClaims & { tableName: string };

export function createTableStore(db: DynamoDBDocumentClient, tableName: string): TableStore {
  return {
    tableName,
    ...createAccountRepository(db, tableName),
    ...createAccountWriter(db, tableName),
    ...createAccountConnections(db, tableName),
    ...createDueTokenSchedule(db, tableName),
    ...createDeveloperRoleRepository(db, tableName),
    ...createMemberships(db, tableName),
    ...createRefreshLease(db, tableName),
    ...createRefreshSchedule(db, tableName),
    ...createWaitingNoticeStore(db, tableName),
    // The fleet's size is what each test says it is: the table holds other tests' tokens too.
    ...createStormStore(db, tableName, { describeTable: () => Promise.resolve(undefined) }),
    ...createProfileRepository(db, tableName),
    ...createUserItemStore(db, tableName),
    ...createSuppressionStore(db, tableName),
    ...createPreferencesRepository(db, tableName),
    ...createSendOnceLedger(db, tableName),
    ...createReconnectLinkStore(db, tableName),
    ...createNoticeReads(db, tableName),
    ...createNoticeClaims(db, tableName),
  };
}
