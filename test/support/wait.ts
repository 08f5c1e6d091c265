/**
 * Waits until `predicate` holds, checking after every macrotask. The bound only keeps a broken test from
 * hanging; no test asserts how long anything took.
 */
export async function waitFor(predicate: () => boolean | Promise<boolean>, what = 'condition', boundMs = 10_000): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Lets pending promise callbacks and immediates run. */
export function flushAsync(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A promise with its resolve function exposed. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => {};
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
