/** What `emit()` and `send()` throw for an undefined or null pattern or payload, in Nest's words. */
export class InvalidMessageException extends Error {
  override readonly name = 'InvalidMessageException';

  constructor() {
    super('The invalid data or message pattern (undefined/null)');
  }
}
