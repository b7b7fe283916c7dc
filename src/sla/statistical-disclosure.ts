/**
 * Statistical disclosure control for published counts (DESIGN §6, open data): every count below the threshold is
 * suppressed (primary suppression), then more cells are suppressed until no suppressed cell can be recomputed
 * exactly from the published cells and the table's additive relations (secondary suppression). Pure: a table is a
 * list of cell values and a list of sums over them.
 */

/** `cells[total] = Σ cells[parts]`: a row total, a column total, a subtotal. */
export interface Sum {
  total: number;
  parts: number[];
}

/** Counts below this are never published (the CNAM's own open data rule). */
export const DISCLOSURE_THRESHOLD = 11;
const EPSILON = 1e-9;

/**
 * Which cells must not be published. `values` are the cells' counts; `sums` the relations a reader knows hold
 * between them (a cell in no sum is only subject to the threshold). A suppressed cell is safe when the published
 * cells leave it at least one degree of freedom: in the linear system of the sums restricted to the suppressed
 * cells, it is not fixed by the others (checked exactly by reducing that system, so chains of sums across a
 * hierarchy are covered, not only a sum with a single unknown), and not pinned by what a reader also knows of the
 * counts: none is negative, and one below the threshold is at most threshold - 1 (two hidden cells that must add up
 * to 0, or to 20 when both are below 11, give themselves away).
 */
export function cellsToSuppress(values: readonly number[], sums: readonly Sum[], threshold = DISCLOSURE_THRESHOLD): boolean[] {
  const suppressed = values.map((value) => value < threshold);
  const sumsOf = values.map(() => [] as number[]);
  sums.forEach((sum, i) => [sum.total, ...sum.parts].forEach((cell) => sumsOf[cell].push(i)));
  for (;;) {
    const exposed = recomputableCells(suppressed, sums);
    if (exposed.length === 0) exposed.push(...pinnedByBounds(values, suppressed, sums, threshold));
    if (exposed.length === 0) return suppressed;
    // Hide one more cell of a sum that fixes an exposed cell, the smallest published count there (it loses the
    // least information): first a sum with that one unknown, where the exposure starts; else any sum of the first.
    const single = sums.find((sum) => [sum.total, ...sum.parts].filter((cell) => suppressed[cell]).length === 1);
    const candidates = single ? [single] : sumsOf[exposed[0]].map((i) => sums[i]);
    let best = -1;
    for (const sum of candidates) {
      for (const other of [sum.total, ...sum.parts]) {
        if (!suppressed[other] && (best === -1 || values[other] < values[best])) best = other;
      }
    }
    // Every sum of that cell is hidden whole: hiding the smallest published cell anywhere still makes progress.
    if (best === -1) best = values.reduce((b, v, i) => (suppressed[i] || (b !== -1 && values[b] <= v) ? b : i), -1);
    if (best === -1) return suppressed;
    suppressed[best] = true;
  }
}

/**
 * The suppressed cells whose value follows from the published ones: with the published values moved to the right
 * side, the sums form a linear system in the suppressed cells; a cell is recomputable when, in its reduced row
 * echelon form, it is a pivot whose row involves no free cell.
 */
export function recomputableCells(suppressed: readonly boolean[], sums: readonly Sum[]): number[] {
  const unknowns = suppressed.flatMap((hidden, cell) => (hidden ? [cell] : []));
  const column = new Map(unknowns.map((cell, i) => [cell, i]));
  const rows: number[][] = [];
  for (const sum of sums) {
    const row = new Array<number>(unknowns.length).fill(0);
    let any = false;
    const add = (cell: number, sign: number) => {
      const i = column.get(cell);
      if (i !== undefined) { row[i] += sign; any = true; }
    };
    add(sum.total, 1);
    for (const part of sum.parts) add(part, -1);
    if (any) rows.push(row);
  }
  const pivotRowOf = new Map<number, number>();
  let rank = 0;
  for (let col = 0; col < unknowns.length && rank < rows.length; col++) {
    let pivot = -1;
    for (let r = rank; r < rows.length; r++) if (Math.abs(rows[r][col]) > EPSILON && (pivot === -1 || Math.abs(rows[r][col]) > Math.abs(rows[pivot][col]))) pivot = r;
    if (pivot === -1) continue;
    [rows[rank], rows[pivot]] = [rows[pivot], rows[rank]];
    const lead = rows[rank][col];
    for (let c = col; c < unknowns.length; c++) rows[rank][c] /= lead;
    for (let r = 0; r < rows.length; r++) {
      const factor = rows[r][col];
      if (r === rank || Math.abs(factor) <= EPSILON) continue;
      for (let c = col; c < unknowns.length; c++) rows[r][c] -= factor * rows[rank][c];
    }
    pivotRowOf.set(col, rank++);
  }
  const free = unknowns.map((_, col) => col).filter((col) => !pivotRowOf.has(col));
  return unknowns.filter((_, col) => {
    const r = pivotRowOf.get(col);
    return r !== undefined && free.every((f) => Math.abs(rows[r][f]) <= EPSILON);
  });
}

/**
 * The suppressed cells whose value a reader pins down with the sums and bounds alone: counts are never negative,
 * and a cell suppressed for being small is at most threshold - 1. Each sum narrows its hidden cells' intervals
 * from the others' (propagated until nothing changes); a cell whose interval closes on one value is exposed.
 */
export function pinnedByBounds(values: readonly number[], suppressed: readonly boolean[], sums: readonly Sum[],
  threshold = DISCLOSURE_THRESHOLD): number[] {
  const low = values.map((v, i) => (suppressed[i] ? 0 : v));
  const high = values.map((v, i) => (suppressed[i] ? (v < threshold ? threshold - 1 : Infinity) : v));
  // total - Σ parts = 0, as terms with a sign.
  const terms = sums.map((sum) => [{ cell: sum.total, sign: 1 }, ...sum.parts.map((cell) => ({ cell, sign: -1 }))]);
  for (let changed = true, rounds = 0; changed && rounds < 100; rounds++) {
    changed = false;
    for (const equation of terms) {
      for (const { cell, sign } of equation) {
        if (!suppressed[cell]) continue;
        // sign · cell = -Σ others: bounded by the others' intervals.
        let othersMin = 0;
        let othersMax = 0;
        for (const other of equation) {
          if (other.cell === cell) continue;
          othersMin += other.sign > 0 ? low[other.cell] : -high[other.cell];
          othersMax += other.sign > 0 ? high[other.cell] : -low[other.cell];
        }
        const [from, to] = sign > 0 ? [-othersMax, -othersMin] : [othersMin, othersMax];
        if (from > low[cell]) { low[cell] = from; changed = true; }
        if (to < high[cell]) { high[cell] = to; changed = true; }
      }
    }
  }
  return values.flatMap((_, i) => (suppressed[i] && low[i] === high[i] ? [i] : []));
}
