#!/usr/bin/env node
import { run } from './cli';

run(process.argv.slice(2)).then((code) => {
  // Exit once the output is written: a Redis connection given up on keeps a timer of ioredis's for seconds more.
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
});
