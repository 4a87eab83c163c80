import { curveKeyPair } from 'zeromq';

const VARIABLE = 'NZMQ_BENCH_CURVE_KEYS';

interface KeyPair {
  publicKey: string;
  secretKey: string;
}

/** Makes fresh key pairs for this run and puts them where the forked children find them. */
export function shareBenchCurveKeys(): void {
  process.env[VARIABLE] ??= JSON.stringify({ server: curveKeyPair(), client: curveKeyPair() });
}

/** The run's key pairs (made by the coordinator, inherited through the environment). */
export function benchCurveKeys(): { server: KeyPair; client: KeyPair } {
  const shared = process.env[VARIABLE];
  if (shared === undefined) {
    throw new Error(`${VARIABLE} is not set: the CURVE row runs under bench/main.ts`);
  }
  return JSON.parse(shared) as { server: KeyPair; client: KeyPair };
}
