import { Dispatcher } from './dispatcher.js';
import { ReceiveBudget } from './receive-budget.js';

/** Tasks that record when they start and finish when the test says so. */
function tasks() {
  const started: string[] = [];
  const controls = new Map<string, { resolve: () => void; reject: (error: Error) => void }>();
  const task = (name: string) => () => {
    started.push(name);
    return new Promise<void>((resolve, reject) => controls.set(name, { resolve, reject }));
  };
  return {
    started,
    task,
    finish: (name: string) => controls.get(name)!.resolve(),
    fail: (name: string) => controls.get(name)!.reject(new Error(name)),
  };
}

/** Lets settled tasks release their slots. */
const flush = () => new Promise((resolve) => setImmediate(resolve));

/** Whether a promise has settled by now (after a flush). */
async function settled(promise: Promise<unknown> | undefined): Promise<boolean> {
  let done = false;
  void promise?.then(() => (done = true));
  await flush();
  return done;
}

describe('Dispatcher', () => {
  it('runs at most `concurrency` tasks, starting the next in order as each one ends, failed or not', async () => {
    const { started, task, finish, fail } = tasks();
    const dispatcher = new Dispatcher(2, 10);
    ['t1', 't2', 't3', 't4', 't5'].forEach((name) => dispatcher.submit(task(name)));
    expect(started).toEqual(['t1', 't2']);
    expect([dispatcher.running, dispatcher.queued]).toEqual([2, 3]);
    finish('t2');
    await flush();
    expect(started).toEqual(['t1', 't2', 't3']);
    fail('t1');
    await flush();
    expect(started).toEqual(['t1', 't2', 't3', 't4']);
    expect([dispatcher.running, dispatcher.queued]).toEqual([2, 1]);
    finish('t3');
    finish('t4');
    await flush();
    expect(started).toEqual(['t1', 't2', 't3', 't4', 't5']);
    finish('t5');
    await flush();
    expect([dispatcher.running, dispatcher.queued]).toEqual([0, 0]);
  });

  it('room() pauses the reader while `prefetch` tasks wait and wakes it when one starts', async () => {
    const { task, finish } = tasks();
    const dispatcher = new Dispatcher(1, 2);
    dispatcher.submit(task('t1'));
    dispatcher.submit(task('t2'));
    expect(dispatcher.room()).toBeUndefined();
    dispatcher.submit(task('t3'));
    const room = dispatcher.room();
    expect(room).toBeInstanceOf(Promise);
    expect(await settled(room)).toBe(false);
    finish('t1');
    expect(await settled(room)).toBe(true);
    expect(dispatcher.queued).toBe(1);
    expect(dispatcher.room()).toBeUndefined();
  });

  it('dropWaiting() forgets the tasks not started, counts them and wakes the reader', async () => {
    const { started, task, finish } = tasks();
    const dispatcher = new Dispatcher(1, 2);
    ['t1', 't2', 't3'].forEach((name) => dispatcher.submit(task(name)));
    const room = dispatcher.room();
    expect(dispatcher.dropWaiting()).toBe(2);
    expect(await settled(room)).toBe(true);
    finish('t1');
    await flush();
    expect(started).toEqual(['t1']);
    expect([dispatcher.running, dispatcher.queued]).toEqual([0, 0]);
    expect(dispatcher.dropWaiting()).toBe(0);
  });

  it('room() pauses the reader while one more message of `headroom` bytes would not fit the budget, and counts the pause', async () => {
    const { task, finish } = tasks();
    const budget = new ReceiveBudget(100, 40);
    const dispatcher = new Dispatcher(10, 100, budget);
    dispatcher.submit(task('a'), 30);
    dispatcher.submit(task('b'), 30);
    expect(dispatcher.room()).toBeUndefined();
    dispatcher.submit(task('c'), 11);
    expect(budget.held).toBe(71);
    const room = dispatcher.room();
    expect(await settled(room)).toBe(false);
    expect(budget.pauses).toBe(1);
    finish('c');
    expect(await settled(room)).toBe(true);
    dispatcher.submit(task('d'), 35);
    const next = dispatcher.room();
    finish('a');
    expect(await settled(next)).toBe(false);
    finish('d');
    expect(await settled(next)).toBe(true);
    expect(budget.held).toBe(30);
    finish('b');
    await flush();
    expect(budget.held).toBe(0);
  });

  it('reads a message larger than the budget once nothing is held, and counts it; waiting bytes dropped on close are released', async () => {
    const { started, task, finish } = tasks();
    const budget = new ReceiveBudget(100, 40);
    const dispatcher = new Dispatcher(1, 100, budget);
    dispatcher.submit(task('small'), 10);
    budget.read(250);
    dispatcher.submit(task('huge'), 250);
    const room = dispatcher.room();
    expect(budget.oversized).toBe(1);
    finish('small');
    await flush();
    expect(started).toEqual(['small', 'huge']);
    expect(await settled(room)).toBe(false);
    finish('huge');
    expect(await settled(room)).toBe(true);
    expect(budget.held).toBe(0);
    dispatcher.submit(task('running'), 20);
    dispatcher.submit(task('waiting'), 70);
    expect(dispatcher.dropWaiting()).toBe(1);
    expect(budget.held).toBe(20);
    finish('running');
    await flush();
    expect(budget.held).toBe(0);
  });

  it('idle() resolves true at once when nothing runs, and when the running and queued tasks are done', async () => {
    const { task, finish } = tasks();
    const dispatcher = new Dispatcher(1, 10);
    expect(await dispatcher.idle(0)).toBe(true);
    dispatcher.submit(task('t1'));
    dispatcher.submit(task('t2'));
    const idle = dispatcher.idle(30_000);
    finish('t1');
    expect(await settled(idle)).toBe(false);
    finish('t2');
    expect(await idle).toBe(true);
  });

  it('idle() resolves false when a task outlasts the timeout', async () => {
    const { task, finish } = tasks();
    const dispatcher = new Dispatcher(1, 10);
    dispatcher.submit(task('stuck'));
    expect(await dispatcher.idle(5)).toBe(false);
    expect(dispatcher.running).toBe(1);
    finish('stuck');
    expect(await dispatcher.idle(30_000)).toBe(true);
  });
});
