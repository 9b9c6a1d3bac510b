import { LuaScript } from '../../platform/redis.ts';

/** Each script is pace-state.lua (the clock, reading and writing a pace) followed by its own file. */
const withState = (name: string) =>
  LuaScript.fromFile(new URL(`./scripts/${name}`, import.meta.url), [
    new URL('./scripts/pace-state.lua', import.meta.url),
  ]);

export const ACQUIRE = withState('acquire.lua');
export const SUCCEEDED = withState('succeeded.lua');
export const THROTTLED = withState('throttled.lua');
export const JOINED = withState('joined.lua');
