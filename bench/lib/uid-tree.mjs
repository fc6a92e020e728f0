// UID trees built straight into uid_nodes for the benchmarks (bench/revoke-subtree.mjs,
// bench/scale.mjs): the row shape of the conformance test.

/**
 * Child ids of a 10 / 100 / 1,000 / rest fan-out below the root: depth 2..5 (treeLength 5).
 * Ids are 12 characters like real node ids, but contain digits 0/1/8/9, which real ids never do.
 */
export function subtreeRows(rootRow, count, tag, nowMs) {
  const rows = [];
  const levels = [10, 100, 1000];
  let parents = [rootRow];
  let made = 1; // the root counts
  const make = (parent, i) => {
    const id = `${tag}${String(i).padStart(12 - tag.length, '0')}`;
    return {
      ...rootRow,
      id,
      parent_id: parent.id,
      path: `${parent.path}${id}/`,
      depth: parent.depth + 1,
      created_at: nowMs,
    };
  };
  for (const width of levels) {
    if (made >= count) break;
    const level = [];
    for (let i = 0; i < width && made < count; i++, made++)
      level.push(make(parents[i % parents.length], made));
    rows.push(...level);
    parents = level;
  }
  for (let i = 0; made < count; i++, made++) rows.push(make(parents[i % parents.length], made));
  return rows;
}

export async function bulkInsert(db, rows) {
  await db.transaction().execute(async (trx) => {
    for (let i = 0; i < rows.length; i += 1000)
      await trx
        .insertInto('uid_nodes')
        .values(rows.slice(i, i + 1000))
        .execute();
  });
}
