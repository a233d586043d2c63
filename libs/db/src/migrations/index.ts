import type { Migration } from 'kysely';
import * as m0001 from './0001-initial.js';
import * as m0002 from './0002-checkpoint-attempt-key.js';
import * as m0003 from './0003-events-without-foreign-key.js';
import * as m0004 from './0004-workload-requested-action.js';
import * as m0005 from './0005-workers-heard-at.js';
import * as m0006 from './0006-dead-letters.js';
import * as m0007 from './0007-parked-workloads.js';
import * as m0008 from './0008-identity.js';
import * as m0009 from './0009-secrets.js';
import * as m0010 from './0010-placement-policies.js';
import * as m0011 from './0011-fair-share.js';
import * as m0012 from './0012-leadership.js';
import * as m0013 from './0013-schedules.js';
import * as m0015 from './0015-workload-dependencies.js';
import * as m0016 from './0016-durable-waits.js';
import * as m0017 from './0017-child-workloads.js';

/** Every migration, in order. Names never change once released. */
export const MIGRATIONS: Record<string, Migration> = {
  '0001-initial': m0001,
  '0002-checkpoint-attempt-key': m0002,
  '0003-events-without-foreign-key': m0003,
  '0004-workload-requested-action': m0004,
  '0005-workers-heard-at': m0005,
  '0006-dead-letters': m0006,
  '0007-parked-workloads': m0007,
  '0008-identity': m0008,
  '0009-secrets': m0009,
  '0010-placement-policies': m0010,
  '0011-fair-share': m0011,
  '0012-leadership': m0012,
  '0013-schedules': m0013,
  '0015-workload-dependencies': m0015,
  '0016-durable-waits': m0016,
  '0017-child-workloads': m0017,
};
