// A set of integers (bigint indexes) kept as sorted, merged runs [start, end], in blocks of bounded size
// so that inserting or removing a run moves at most one block's worth of entries, however fragmented the
// set. The allocator keeps one per pool range; "lowest free" only ever looks at the first run.

export interface Run {
  start: bigint;
  end: bigint;
}

type Position = readonly [block: number, run: number];

export class RunList {
  /** Runs sorted, disjoint, never adjacent (adjacent runs are merged); no block is empty. */
  private readonly blocks: Run[][] = [];
  private readonly maxBlock: number;

  /** `maxBlock` only matters for speed; tests make it tiny to exercise block splits. */
  constructor(maxBlock = 256) {
    this.maxBlock = Math.max(2, maxBlock);
  }

  first(): Readonly<Run> | undefined {
    return this.blocks[0]?.[0];
  }

  has(index: bigint): boolean {
    const [b, k] = this.locate(index);
    const run = this.blocks[b]?.[k];
    return run !== undefined && run.end >= index;
  }

  /** Every run in order (tests and diagnostics). */
  *runs(): Generator<Readonly<Run>> {
    for (const block of this.blocks) yield* block;
  }

  add(index: bigint): void {
    if (this.blocks.length === 0) {
      this.blocks.push([{ start: index, end: index }]);
      return;
    }
    const [b, k] = this.locate(index);
    const before = this.blocks[b]?.[k];
    if (before !== undefined && before.end >= index) return;
    const next = this.next(b, k);
    const after = next === undefined ? undefined : this.blocks[next[0]]?.[next[1]];
    const joinsBefore = before !== undefined && before.end + 1n === index;
    const joinsAfter = after !== undefined && after.start === index + 1n;
    if (joinsBefore && joinsAfter && next !== undefined) {
      before.end = after.end;
      this.removeAt(next);
    } else if (joinsBefore) {
      before.end = index;
    } else if (joinsAfter) {
      after.start = index;
    } else {
      this.insertAfter(b, k, { start: index, end: index });
    }
  }

  delete(index: bigint): void {
    const [b, k] = this.locate(index);
    const run = this.blocks[b]?.[k];
    if (run === undefined || run.end < index) return;
    if (run.start === index && run.end === index) this.removeAt([b, k]);
    else if (run.start === index) run.start = index + 1n;
    else if (run.end === index) run.end = index - 1n;
    else {
      this.insertAfter(b, k, { start: index + 1n, end: run.end });
      run.end = index - 1n;
    }
  }

  /** The last run starting at or before `index` as [block, run]; run is -1 when every run starts after it. */
  private locate(index: bigint): Position {
    let low = 0;
    let high = this.blocks.length - 1;
    let b = -1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      if ((this.blocks[mid]?.[0] as Run).start <= index) {
        b = mid;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    if (b < 0) return [0, -1];
    const block = this.blocks[b] as Run[];
    low = 0;
    high = block.length - 1;
    let k = 0;
    while (low <= high) {
      const mid = (low + high) >> 1;
      if ((block[mid] as Run).start <= index) {
        k = mid;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    return [b, k];
  }

  private next(b: number, k: number): Position | undefined {
    const block = this.blocks[b];
    if (block !== undefined && k + 1 < block.length) return [b, k + 1];
    return b + 1 < this.blocks.length ? [b + 1, 0] : undefined;
  }

  private insertAfter(b: number, k: number, run: Run): void {
    const block = this.blocks[b] as Run[];
    block.splice(k + 1, 0, run);
    if (block.length > this.maxBlock) this.blocks.splice(b + 1, 0, block.splice(block.length >> 1));
  }

  private removeAt([b, k]: Position): void {
    const block = this.blocks[b] as Run[];
    block.splice(k, 1);
    if (block.length === 0) this.blocks.splice(b, 1);
  }
}
