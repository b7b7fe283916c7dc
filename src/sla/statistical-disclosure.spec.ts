import { cellsToSuppress, pinnedByBounds, recomputableCells, Sum } from './statistical-disclosure';

/**
 * A 2-D table with row totals, column totals and a grand total, as cells and sums. Cell (r, c) is r * width + c,
 * with the totals in the last row and column.
 */
function table(inner: number[][]): { values: number[]; sums: Sum[]; at: (r: number, c: number) => number } {
  const rows = inner.length;
  const cols = inner[0].length;
  const width = cols + 1;
  const at = (r: number, c: number) => r * width + c;
  const values: number[] = [];
  for (let r = 0; r <= rows; r++) {
    for (let c = 0; c <= cols; c++) {
      if (r < rows && c < cols) values.push(inner[r][c]);
      else if (r < rows) values.push(inner[r].reduce((a, b) => a + b, 0));
      else if (c < cols) values.push(inner.reduce((a, row) => a + row[c], 0));
      else values.push(inner.flat().reduce((a, b) => a + b, 0));
    }
  }
  const sums: Sum[] = [];
  for (let r = 0; r <= rows; r++) sums.push({ total: at(r, cols), parts: [...Array(cols).keys()].map((c) => at(r, c)) });
  for (let c = 0; c <= cols; c++) sums.push({ total: at(rows, c), parts: [...Array(rows).keys()].map((r) => at(r, c)) });
  return { values, sums, at };
}

/**
 * Independent of the reduction: a suppressed cell is safe when some change of the suppressed cells by -1, 0 or +1
 * each keeps every sum true and moves that cell (then a reader cannot tell the two tables apart). Exhaustive, so
 * only for the few suppressed cells of a crafted table.
 */
function safeByPerturbation(values: number[], suppressed: boolean[], sums: Sum[]): boolean[] {
  const hidden = suppressed.flatMap((s, i) => (s ? [i] : []));
  expect(hidden.length).toBeLessThanOrEqual(13);
  const safe = values.map(() => false);
  const delta = new Array<number>(values.length).fill(0);
  const visit = (k: number): void => {
    if (k === hidden.length) {
      if (sums.every((s) => delta[s.total] === s.parts.reduce((a, p) => a + delta[p], 0))) {
        for (const cell of hidden) if (delta[cell] !== 0) safe[cell] = true;
      }
      return;
    }
    for (const d of [-1, 0, 1]) {
      delta[hidden[k]] = d;
      visit(k + 1);
    }
    delta[hidden[k]] = 0;
  };
  visit(0);
  return safe;
}

const published = (values: number[], suppressed: boolean[]) => values.map((v, i) => (suppressed[i] ? 'NS' : v));

describe('statistical disclosure control', () => {
  it('publishes a table with no count below 11 unchanged', () => {
    const { values, sums } = table([[20, 30], [40, 50]]);
    expect(cellsToSuppress(values, sums).every((s) => !s)).toBe(true);
  });

  it('hides a second cell of the row and of the column of a single small count, so that neither total gives it away', () => {
    const { values, sums, at } = table([[3, 30, 40], [25, 35, 45], [50, 60, 70]]);
    const suppressed = cellsToSuppress(values, sums);
    expect(suppressed[at(0, 0)]).toBe(true);
    // Row 0 and column 0 each lose one more cell (their smallest), and the corner that closes the rectangle.
    expect(suppressed[at(0, 1)]).toBe(true);
    expect(suppressed[at(1, 0)]).toBe(true);
    expect(suppressed[at(1, 1)]).toBe(true);
    expect(suppressed.filter(Boolean)).toHaveLength(4);
    expect(recomputableCells(suppressed, sums)).toEqual([]);
    const safe = safeByPerturbation(values, suppressed, sums);
    suppressed.forEach((hidden, cell) => hidden && expect(safe[cell]).toBe(true));
  });

  it('finds a cell that a chain of sums fixes even when every sum holds two unknowns (a bridge between two rectangles)', () => {
    // Two 2x2 rectangles of hidden cells in rows 0-1 / columns 0-1 and rows 2-3 / columns 2-3, joined by (1, 2):
    // every row and column with a hidden cell has two or more, yet (1, 2) is fixed by adding rows 0-1 and
    // subtracting columns 0-1. A rule that looks at one sum at a time publishes it.
    const { values, sums, at } = table([[20, 20, 30, 30], [20, 20, 30, 30], [30, 30, 20, 20], [30, 30, 20, 20]]);
    const suppressed = values.map(() => false);
    for (const [r, c] of [[0, 0], [0, 1], [1, 0], [1, 1], [2, 2], [2, 3], [3, 2], [3, 3], [1, 2]]) suppressed[at(r, c)] = true;
    expect(recomputableCells(suppressed, sums)).toEqual([at(1, 2)]);
    expect(safeByPerturbation(values, suppressed, sums)[at(1, 2)]).toBe(false);
  });

  it('hides totals below 11 and protects them through the cells they are made of', () => {
    const { values, sums, at } = table([[2, 3, 40], [4, 1, 50], [30, 30, 60]]);
    const suppressed = cellsToSuppress(values, sums);
    // The four small counts form a rectangle: each row and column holding one holds two, so none can be recomputed.
    for (const [r, c] of [[0, 0], [0, 1], [1, 0], [1, 1]]) expect(suppressed[at(r, c)]).toBe(true);
    expect(recomputableCells(suppressed, sums)).toEqual([]);
    const safe = safeByPerturbation(values, suppressed, sums);
    suppressed.forEach((hidden, cell) => hidden && expect(safe[cell]).toBe(true));
  });

  it('leaves no suppressed cell recomputable in random sparse tables (checked by exhaustive perturbation)', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let n = 0; n < 40; n++) {
      const inner = [0, 1, 2].map(() => [0, 1, 2].map(() => (random() < 0.25 ? Math.floor(random() * 11) : 11 + Math.floor(random() * 60))));
      const { values, sums } = table(inner);
      const suppressed = cellsToSuppress(values, sums);
      values.forEach((v, i) => v < 11 && expect(suppressed[i]).toBe(true));
      if (suppressed.filter(Boolean).length > 13) continue;
      const safe = safeByPerturbation(values, suppressed, sums);
      suppressed.forEach((hidden, cell) => {
        if (hidden && !safe[cell]) throw new Error(`recomputable: cell ${cell} of ${JSON.stringify(published(values, suppressed))}`);
      });
    }
  });

  it('protects cells of a hierarchy: rows of a group add up to the group, groups to the whole', () => {
    // Group A: rows a1, a2 and subtotal A; group B: rows b1 and subtotal B; grand total G. Columns x, y, total.
    const cells = { a1: [5, 20, 25], a2: [30, 40, 70], A: [35, 60, 95], b1: [12, 13, 25], B: [12, 13, 25], G: [47, 73, 120] };
    const names = Object.keys(cells) as (keyof typeof cells)[];
    const id = (row: keyof typeof cells, c: number) => names.indexOf(row) * 3 + c;
    const values = names.flatMap((row) => cells[row]);
    const sums: Sum[] = [
      ...names.map((row) => ({ total: id(row, 2), parts: [id(row, 0), id(row, 1)] })),
      ...[0, 1, 2].flatMap((c) => [
        { total: id('A', c), parts: [id('a1', c), id('a2', c)] },
        { total: id('B', c), parts: [id('b1', c)] },
        { total: id('G', c), parts: [id('A', c), id('B', c)] },
      ]),
    ];
    const suppressed = cellsToSuppress(values, sums);
    expect(suppressed[id('a1', 0)]).toBe(true);
    expect(recomputableCells(suppressed, sums)).toEqual([]);
    const safe = safeByPerturbation(values, suppressed, sums);
    suppressed.forEach((hidden, cell) => hidden && expect(safe[cell]).toBe(true));
  });

  it('does not let bounds give hidden counts away: cells that must be 0, or 10 each when two small ones add up to 20', () => {
    // Row: 12 = 12 + 0 + 0. The zeros are two unknowns of one sum, yet both must be 0 since counts are never negative.
    const zeros: Sum[] = [{ total: 0, parts: [1, 2, 3] }];
    expect(pinnedByBounds([12, 12, 0, 0], [false, false, true, true], zeros)).toEqual([2, 3]);
    const hidden = cellsToSuppress([12, 12, 0, 0], zeros);
    expect(pinnedByBounds([12, 12, 0, 0], hidden, zeros)).toEqual([]);
    expect(recomputableCells(hidden, zeros)).toEqual([]);
    // Row: 40 = 20 + 10 + 10: two cells below 11 that add up to 20 are both 10.
    const tens: Sum[] = [{ total: 0, parts: [1, 2, 3] }];
    expect(pinnedByBounds([40, 20, 10, 10], [false, false, true, true], tens)).toEqual([2, 3]);
    const safe = cellsToSuppress([40, 20, 10, 10], tens);
    expect(safe[1]).toBe(true);
    expect(pinnedByBounds([40, 20, 10, 10], safe, tens)).toEqual([]);
  });
});
