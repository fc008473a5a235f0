/**
 * Draws from the distributions that the experiment tests simulate shoppers with, from one seeded
 * uniform generator (seededRandom), so that each simulation is the same on every run.
 */
export type Uniform = () => number;

/** A standard normal draw (Box–Muller; the uniform is kept away from 0 so the log stays finite). */
export function drawNormal(uniform: Uniform): number {
  const u = Math.max(uniform(), Number.MIN_VALUE);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
}

/**
 * A Gamma(shape, 1) draw by Marsaglia & Tsang (ACM TOMS 26(3), 2000); below shape 1 through the
 * boost Gamma(a) = Gamma(a + 1) · U^(1/a).
 */
export function drawGamma(shape: number, uniform: Uniform): number {
  if (shape < 1) return drawGamma(shape + 1, uniform) * Math.pow(Math.max(uniform(), Number.MIN_VALUE), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = drawNormal(uniform);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = uniform();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** A Beta(a, b) draw, as Ga / (Ga + Gb). */
export function drawBeta(a: number, b: number, uniform: Uniform): number {
  const x = drawGamma(a, uniform);
  const y = drawGamma(b, uniform);
  return x + y > 0 ? x / (x + y) : a / (a + b);
}

/** A Binomial(trials, probability) draw, trial by trial: the tests' counts are small. */
export function drawBinomial(trials: number, probability: number, uniform: Uniform): number {
  let successes = 0;
  for (let i = 0; i < trials; i++) if (uniform() < probability) successes++;
  return successes;
}

/** The number of failures before the first success, mean (1 − p) / p. */
export function drawGeometric(probability: number, uniform: Uniform): number {
  return Math.floor(Math.log(Math.max(uniform(), Number.MIN_VALUE)) / Math.log(1 - probability));
}
