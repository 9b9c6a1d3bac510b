#!/usr/bin/env node
// `npm run build`: the service compiled to JavaScript in dist/ (tsconfig.build.json), with the files it
// reads at run time beside it (SQL, Lua, the console's script, the email templates). Production runs
// `node dist/workers/<process>.js`: no TypeScript loader in the process (about 35 MB of memory and a
// second of start-up each). Development and the tests run the TypeScript directly through tsx.
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(root, process.argv[2] ?? 'dist');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

rmSync(out, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', out], { stdio: 'inherit' });
cpSync(join(root, 'src'), join(out, 'src'), { recursive: true, filter: (path) => !path.endsWith('.ts') });
cpSync(join(root, 'templates'), join(out, 'templates'), { recursive: true });
