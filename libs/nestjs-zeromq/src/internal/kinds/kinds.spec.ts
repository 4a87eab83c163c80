import { SOCKET_KIND_NAMES } from '../options/kind-names.js';
import { SOCKET_KINDS, socketKind } from './kinds.js';

describe('the socket kinds', () => {
  it('lists each kind options may name under its own name', () => {
    expect(Object.keys(SOCKET_KINDS).sort()).toEqual([...SOCKET_KIND_NAMES].sort());
    for (const name of SOCKET_KIND_NAMES) {
      expect(socketKind(name).name).toBe(name);
    }
  });

  it('has exactly one kind that at-least-once implies, and it carries the acks back', () => {
    const implied = SOCKET_KIND_NAMES.map(socketKind).filter((kind) => kind.impliedByAtLeastOnce);
    expect(implied.map((kind) => kind.name)).toEqual(['dealer-router']);
    expect(implied[0].carriesReplies).toBe(true);
  });
});
