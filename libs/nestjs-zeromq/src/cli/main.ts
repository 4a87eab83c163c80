#!/usr/bin/env node
import { createProgram } from './program.js';

try {
  await createProgram().parseAsync(process.argv);
} catch (error) {
  console.error(`nestjs-zeromq: ${(error as Error).message}`);
  process.exitCode = 1;
}
