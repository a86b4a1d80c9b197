import type { Json, JsonObject } from './fixtures.ts';

/** A pure edit of a JSON document: returns a changed deep copy. */
export type Edit = (doc: JsonObject) => JsonObject;

function tokens(pointer: string): string[] {
  return pointer
    .split('/')
    .slice(1)
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function walk(copy: JsonObject, pointer: string): { parent: Json; key: string } {
  const path = tokens(pointer);
  const key = path.pop();
  if (key === undefined) throw new Error('cannot edit the document root');
  let node: Json = copy;
  for (const token of path) {
    const next: Json | undefined = Array.isArray(node) ? node[Number(token)] : (node as JsonObject)[token];
    if (next === undefined || next === null || typeof next !== 'object') {
      throw new Error(`no container at ${token} in ${pointer}`);
    }
    node = next;
  }
  return { parent: node, key };
}

/** Sets the value at `pointer` (RFC 6901, parent must exist). */
export function set(pointer: string, value: Json): Edit {
  return (doc) => {
    const copy = structuredClone(doc);
    const { parent, key } = walk(copy, pointer);
    if (Array.isArray(parent)) parent[Number(key)] = value;
    else Object.defineProperty(parent, key, { value, enumerable: true, writable: true, configurable: true });
    return copy;
  };
}

/** Removes the member at `pointer` (RFC 6901, parent must exist). */
export function unset(pointer: string): Edit {
  return (doc) => {
    const copy = structuredClone(doc);
    const { parent, key } = walk(copy, pointer);
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else Reflect.deleteProperty(parent as object, key);
    return copy;
  };
}

/** Applies several edits in order. */
export function edits(...list: Edit[]): Edit {
  return (doc) => list.reduce((acc, edit) => edit(acc), doc);
}
