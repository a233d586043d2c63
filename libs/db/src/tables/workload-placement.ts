import type { Placement } from '@niyanta/messages';

/** A workload's placement terms, as submitted (schemas/common.v1.json#/$defs/placement). */
export type WorkloadPlacement = Placement;
