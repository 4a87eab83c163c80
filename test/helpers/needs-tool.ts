/** A test body as `it` takes it. */
type TestBody = NonNullable<Parameters<typeof it>[1]>;

/**
 * `it` for tests that need a tool the machine may lack (pyzmq, network namespaces). With the tool,
 * the test runs. Without it, the test is skipped loudly (its name and the console say why), except
 * under `CI=true`, where CI installs the tool (.ci/run): there the test fails with the reason, so
 * that CI cannot go green without the proof.
 */
export function itNeeding(tool: string, missing: string | undefined): (name: string, body: TestBody, timeout?: number) => void {
  if (missing === undefined) {
    return (name, body, timeout) => it(name, body, timeout);
  }
  if (process.env.CI === 'true') {
    return (name) =>
      it(name, () => {
        throw new Error(`${tool} is required under CI=true and missing here: ${missing}`);
      });
  }
  console.warn(`SKIPPING the tests that need ${tool}: ${missing}`);
  return (name, body) => it.skip(`${name} [SKIPPED: no ${tool}]`, body);
}
