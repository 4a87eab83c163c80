import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { pbkdf2 } from 'node:crypto';
import { promisify } from 'node:util';
import type { WorkerEnv } from '../config/worker.env.js';

const pbkdf2Async = promisify(pbkdf2);
const SALT = 'nestjs-zeromq-sample';

/**
 * The CPU work of a job: a PBKDF2-SHA256 digest, standing in for pricing, scoring or rendering.
 * It runs on libuv's thread pool, so the jobs a socket's `concurrency` lets in really overlap.
 */
@Injectable()
export class HasherService {
  private readonly iterations: number;

  constructor(config: ConfigService<WorkerEnv, true>) {
    this.iterations = config.get('WORKER_HASH_ITERATIONS', { infer: true });
  }

  /** A short hex digest of `input`. */
  async digest(input: string): Promise<string> {
    const key = await pbkdf2Async(input, SALT, this.iterations, 32, 'sha256');
    return key.toString('hex').slice(0, 16);
  }
}
