export type Dictionary = Record<string, unknown>;

export function isPlainObject(value: unknown): value is Dictionary {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Sets `key` as an own property even when it is `__proto__`, so no input can change a prototype. */
export function setOwn(target: Dictionary, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/**
 * A deep merge in which `own` wins: batch-level `context` and `integrations` go under each
 * event's own. Neither input is changed.
 */
export function mergeUnder(base: unknown, own: unknown): unknown {
  if (!isPlainObject(base)) return own;
  if (!isPlainObject(own)) return own === undefined ? base : own;
  const out: Dictionary = {};
  for (const key of Object.keys(base)) setOwn(out, key, base[key]);
  for (const key of Object.keys(own)) {
    const mine = own[key];
    setOwn(out, key, Object.prototype.hasOwnProperty.call(out, key) ? mergeUnder(out[key], mine) : mine);
  }
  return out;
}

/** Sets a dotted path (`properties.plan`) in `target`, skipping any segment that could reach a prototype. */
export function setPath(target: Dictionary, path: string, value: unknown): void {
  const parts = path.split('.');
  if (parts.some((part) => part === '' || part === '__proto__' || part === 'constructor' || part === 'prototype')) return;
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (!isPlainObject(node[part])) node[part] = {};
    node = node[part] as Dictionary;
  }
  node[parts[parts.length - 1]] = value;
}
