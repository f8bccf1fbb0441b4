import fc from 'fast-check';
import { renderRequest, requestPlan, sendPoison, type PoisonTargets, type RequestPlan, type SentPoison } from '@evt/testing';

/** The gateway's limit on JSON nesting (MAX_JSON_DEPTH in the gateway's body reader). */
const MAX_JSON_DEPTH = 128;

export interface PoisonDriveResult {
  /** The marker prefix of this drive's events (`pmk_<run>_<n>`), to account for them. */
  run: string;
  sent: SentPoison[];
  seed: number;
}

/**
 * Sends poison requests (good and hostile events mixed, every queue, several sources) for
 * `seconds` over `connections` connections, from fast-check plans drawn with `seed`.
 */
export async function drivePoison(options: {
  url: () => string;
  targets: PoisonTargets;
  seconds: number;
  connections: number;
  seed: number;
}): Promise<PoisonDriveResult> {
  const run = `f${Date.now().toString(36)}`;
  const sent: SentPoison[] = [];
  const deadline = Date.now() + options.seconds * 1000;
  let counter = 0;
  let drawn = 0;
  let plans: RequestPlan[] = [];
  const next = () => {
    if (plans.length === 0) plans = fc.sample(requestPlan, { numRuns: 50, seed: options.seed + drawn++ });
    return plans.shift() as RequestPlan;
  };
  const loop = async () => {
    while (Date.now() < deadline) {
      const request = renderRequest(next(), options.targets, run, () => counter++, MAX_JSON_DEPTH);
      const answer = await sendPoison(options.url(), request);
      sent.push(answer);
      // A gateway that is gone refuses at once: pace the loop instead of spinning.
      if (answer.status === 'no answer') await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  await Promise.all(Array.from({ length: options.connections }, loop));
  return { run, sent, seed: options.seed };
}
