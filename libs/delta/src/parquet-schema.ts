/** Names of the top-level columns of a Parquet file from its flattened footer schema (depth-first, root first). */
export function topLevelColumns(schema: readonly { name: string; num_children?: number }[]): string[] {
  const names: string[] = [];
  let i = 1;
  const skip = (idx: number): number => {
    // Returns the index after the subtree rooted at idx.
    const kids = schema[idx].num_children ?? 0;
    let next = idx + 1;
    for (let k = 0; k < kids; k++) next = skip(next);
    return next;
  };
  while (i < schema.length) {
    names.push(schema[i].name);
    i = skip(i);
  }
  return names;
}
