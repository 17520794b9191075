/**
 * The per-pulse outcome law the engine samples from. Every pulse independently falls in one "cell" — its
 * intensity class k, Alice's basis a and bit x, Bob's basis b, Bob's bit y, whether both detectors clicked,
 * whether Eve knows the bit — or is not detected. A cell's weight is its joint probability per pulse sent
 * (class × bases × bit × click outcome), so the detection probability is the sum of the weights and a
 * detected pulse's cell is drawn from the weights (Walker alias table). Identical cells are merged, so the
 * table never exceeds 2^10 entries whatever the attack adds.
 */

/** Field layout of a packed cell (Uint16): k in bits 0–3, then a, x, b, y, double click, Eve knows. */
export const FIELD = {
  K_MASK: 0xf,
  A: 1 << 4,
  X: 1 << 5,
  B: 1 << 6,
  Y: 1 << 7,
  DOUBLE: 1 << 8,
  KNOWN: 1 << 9,
} as const;

/** Packs the fields of one cell. */
export function packCell(
  k: number,
  a: number,
  x: number,
  b: number,
  y: number,
  double: number,
  known: number,
): number {
  return (
    k |
    (a ? FIELD.A : 0) |
    (x ? FIELD.X : 0) |
    (b ? FIELD.B : 0) |
    (y ? FIELD.Y : 0) |
    (double ? FIELD.DOUBLE : 0) |
    (known ? FIELD.KNOWN : 0)
  );
}

/** Cells with merged weights, built by the channel model and the attacks. */
export class CellTable {
  readonly #index = new Map<number, number>();
  readonly fields: number[] = [];
  readonly weights: number[] = [];

  /** Adds probability `w` (per pulse) to the cell with these packed fields. */
  add(fields: number, w: number): void {
    if (!(w > 0)) return;
    const i = this.#index.get(fields);
    if (i === undefined) {
      this.#index.set(fields, this.fields.length);
      this.fields.push(fields);
      this.weights.push(w);
    } else {
      this.weights[i]! += w;
    }
  }

  /**
   * Adds Bob's click outcomes for a pulse of class k, Alice (a, x), Bob's basis b, with probability
   * `w` of the conditioning event; `known` = Eve knows the bit. Double clicks get y = 0 or 1, ½ each.
   */
  addClicks(
    w: number,
    k: number,
    a: number,
    x: number,
    b: number,
    o: { only0: number; only1: number; both: number },
    known: number,
  ): void {
    this.add(packCell(k, a, x, b, 0, 0, known), w * o.only0);
    this.add(packCell(k, a, x, b, 1, 0, known), w * o.only1);
    this.add(packCell(k, a, x, b, 0, 1, known), (w * o.both) / 2);
    this.add(packCell(k, a, x, b, 1, 1, known), (w * o.both) / 2);
  }

  /** Sum of all weights: the probability that a pulse is detected. */
  total(): number {
    let s = 0;
    for (const w of this.weights) s += w;
    return s;
  }
}
