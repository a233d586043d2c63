import type { MeV1 } from '@niyanta/messages';

const RANK: Record<MeV1['role'], number> = {
  viewer: 0,
  submitter: 1,
  operator: 2,
  admin: 3,
  root: 4,
};

/** What the signed-in role may do; the API checks again on every request. */
export const can = {
  operate: (me: MeV1) => RANK[me.role] >= RANK.operator,
  seeWorkers: (me: MeV1) => RANK[me.role] >= RANK.operator,
  manageKeys: (me: MeV1) => RANK[me.role] >= RANK.admin,
  manageTenants: (me: MeV1) => me.role === 'root',
};
