/**
 * Items in workload id order, as PostgreSQL orders uuids. The statements that change many rows
 * at once lock the rows in the order of their records (the records drive the join), so with
 * their records in id order they take their locks in the order `lockWorkloads` does, and two
 * such changes over the same workloads wait on each other in turn, never in a cycle (which
 * PostgreSQL would break after deadlock_timeout by failing one of them).
 */
export function inIdOrder<T>(items: readonly T[], idOf: (item: T) => string): T[] {
  const keyed = items.map((item) => ({ item, key: idOf(item).toLowerCase() }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return keyed.map((k) => k.item);
}
