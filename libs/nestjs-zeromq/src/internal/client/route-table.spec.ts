import { RouteTable } from './route-table.js';

type Link = { name: string; up: boolean; load: number };
const link = (name: string, up = true, load = 0): Link => ({ name, up, load });

describe('RouteTable', () => {
  const orders = { name: 'orders', patterns: ['orders.created', '{"cmd":"audit"}'], links: [link('orders#1'), link('orders#2')] };
  const fallback = { name: 'default', patterns: [], links: [link('default')] };
  const table = new RouteTable<Link>([fallback, orders]);
  const pick = (route: typeof orders) =>
    table.pick(
      route,
      (l) => l.up,
      (l) => l.load,
    ).name;

  it('sends listed patterns to their route and the rest to the default route', () => {
    expect(table.routeFor('orders.created')).toBe(orders);
    expect(table.routeFor('{"cmd":"audit"}')).toBe(orders);
    expect(table.routeFor('anything.else')).toBe(fallback);
    expect(new RouteTable<Link>([orders]).routeFor('anything.else')).toBeUndefined();
    expect(table.link('orders#2')).toBe(orders.links[1]);
  });

  it('picks the least loaded connected link, round-robin among equals', () => {
    expect([pick(orders), pick(orders), pick(orders), pick(orders)].sort()).toEqual(['orders#1', 'orders#1', 'orders#2', 'orders#2']);
    const busy = { ...orders, links: [link('a', true, 5), link('b', true, 1)] };
    expect(pick(busy)).toBe('b');
    const oneDown = { ...orders, links: [link('a', false, 0), link('b', true, 9)] };
    expect(pick(oneDown)).toBe('b');
    const allDown = { ...orders, links: [link('a', false, 3), link('b', false, 1)] };
    expect(pick(allDown)).toBe('b');
  });
});
