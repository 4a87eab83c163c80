import { z } from 'zod';

/** Pattern of the text messages that plain ZeroMQ producers (no Nest, no framing) send. */
export const PLAIN_TASK = 'tasks.plain';

export const plainTaskSchema = z
  .string()
  .min(1, 'a plain task must not be empty')
  .max(64 * 1024);
