/** Waits for `promise` at most `timeout` ms; resolves true if it settled in time. Leaves no timer behind. */
export async function settlesWithin(promise: Promise<unknown>, timeout: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeout))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
