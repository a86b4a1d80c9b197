/**
 * The configuration before validation: plain YAML data plus what validation needs to read it
 * the way registry:2 (Go, `yaml.v2`) does.
 *
 * - YAML is parsed as YAML 1.1 like `yaml.v2`: `yes`/`no`/`on`/`off` are booleans, `0123` is
 *   octal. Timestamps and sexagesimal numbers stay strings (`yaml.v2` leaves them alone).
 * - Go reads a scalar into a `string` field as its literal text (`secret: 0123` is `"0123"`,
 *   not 83), so the source text of every non-string scalar is kept, keyed by its path.
 * - Mapping keys are always their literal text (`n:` is the key `"n"`, not `false`).
 * - Every value set from a `REGISTRY_*` variable remembers the variable, so an error can name it.
 */
import YAML, { type Document, isAlias, isMap, isScalar, isSeq, type Node, type ParsedNode } from 'yaml';

/** A mapping as parsed: string keys, plain values. */
export type RawMap = Record<string, unknown>;

/** Parsed configuration data with the provenance validation needs. */
export interface RawConfig {
  root: RawMap;
  /** Source text of scalars that did not parse as strings, by {@link pathKey}. */
  readonly texts: Map<string, string>;
  /** The `REGISTRY_*` variable that set a value, by {@link pathKey}. */
  readonly origins: Map<string, string>;
}

/** The key of a path in {@link RawConfig.texts} and {@link RawConfig.origins}. */
export function pathKey(path: readonly string[]): string {
  return path.join('\u0000');
}

/** Formats a path for messages: `storage.filesystem.rootdirectory`, `http.tls.clientcas[0]`. */
export function formatPath(path: readonly string[]): string {
  let out = '';
  for (const segment of path) {
    if (/^\d+$/.test(segment)) out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out === '' ? '(root)' : out;
}

/** A YAML syntax error, with line and column. */
export class YamlSyntaxError extends Error {
  override readonly name: 'YamlSyntaxError' = 'YamlSyntaxError';
}

const YAML_OPTIONS = {
  version: '1.1',
  merge: true,
  uniqueKeys: false,
  prettyErrors: true,
  customTags: (tags: YAML.Tags): YAML.Tags =>
    tags.filter((tag) => {
      if (typeof tag !== 'object') return true;
      return tag.tag !== 'tag:yaml.org,2002:timestamp' && tag.format !== 'TIME';
    }),
} as const;

/**
 * Parses one YAML document.
 * @param at - the path the document's values are placed under (for source texts).
 * @throws {YamlSyntaxError}
 */
export function parseYaml(text: string, texts: Map<string, string>, at: readonly string[] = []): unknown {
  const doc = YAML.parseDocument(text, YAML_OPTIONS);
  if (doc.errors.length > 0) {
    throw new YamlSyntaxError(doc.errors.map((error) => error.message.trim()).join('\n'));
  }
  return toPlain(doc, doc.contents, at, texts, 0);
}

function toPlain(
  doc: Document.Parsed,
  node: ParsedNode | Node | null | undefined,
  path: readonly string[],
  texts: Map<string, string>,
  depth: number,
): unknown {
  if (depth > 64) throw new YamlSyntaxError(`${formatPath(path)}: nested too deeply (alias cycle?)`);
  if (node === null || node === undefined) return null;
  if (isAlias(node)) return toPlain(doc, node.resolve(doc) as Node | undefined, path, texts, depth + 1);
  if (isScalar(node)) {
    const value = node.value;
    if (typeof value === 'string' || value === null || value === undefined) return value ?? null;
    if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
      if (node.source !== undefined) texts.set(pathKey(path), node.source);
      return typeof value === 'bigint' ? Number(value) : value;
    }
    return node.source ?? String(value);
  }
  if (isSeq(node)) {
    return node.items.map((item, i) => toPlain(doc, item as Node, [...path, String(i)], texts, depth + 1));
  }
  if (isMap(node)) {
    const out: RawMap = {};
    const merged: RawMap[] = [];
    for (const pair of node.items) {
      const keyNode = pair.key as Node | null;
      if (isScalar(keyNode) && typeof keyNode.value === 'symbol') {
        // `<<: *anchor` or `<<: [*a, *b]`: keys of the merged maps, unless set here.
        const source = toPlain(doc, pair.value as Node, path, new Map(), depth + 1);
        for (const item of Array.isArray(source) ? source : [source]) {
          if (isRawMap(item)) merged.push(item);
        }
        continue;
      }
      const key = keyText(doc, keyNode);
      out[key] = toPlain(doc, pair.value as Node, [...path, key], texts, depth + 1);
    }
    for (const source of merged) {
      for (const [key, value] of Object.entries(source)) if (!(key in out)) out[key] = value;
    }
    return out;
  }
  return null;
}

function keyText(doc: Document.Parsed, key: Node | null): string {
  if (key === null) return '';
  if (isScalar(key)) return key.source ?? String(key.value ?? '');
  if (isAlias(key)) return keyText(doc, key.resolve(doc) as Node | null);
  return String(key.toJSON());
}

/** True for a plain mapping (not an array, not null). */
export function isRawMap(value: unknown): value is RawMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
