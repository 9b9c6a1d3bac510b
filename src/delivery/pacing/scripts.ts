import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LuaScript } from '../../platform/redis.ts';

const read = (name: string) => readFileSync(join(import.meta.dirname, 'scripts', name), 'utf8');

/** Each script is pace-state.lua (the clock, reading and writing a pace) followed by its own file. */
const withState = (name: string) => new LuaScript(`${read('pace-state.lua')}\n${read(name)}`);

export const ACQUIRE = withState('acquire.lua');
export const SUCCEEDED = withState('succeeded.lua');
export const THROTTLED = withState('throttled.lua');
