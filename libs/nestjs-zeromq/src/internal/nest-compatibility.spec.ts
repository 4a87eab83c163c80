// Deep imports of Nest internals are allowed here only: if a Nest release moves or changes what the
// library mirrors, this spec fails and names it.
import 'reflect-metadata';
import { NO_MESSAGE_HANDLER as NEST_NO_MESSAGE_HANDLER } from '@nestjs/microservices/constants.js';
import { NO_MESSAGE_HANDLER } from '../constants.js';

describe('Nest compatibility', () => {
  it("answers an unknown request pattern with Nest's own wording", () => {
    expect(NO_MESSAGE_HANDLER).toBe(NEST_NO_MESSAGE_HANDLER);
  });
});
