const MAX_SHOWN = 80;

/**
 * A short, safe rendering of an arbitrary value for error messages: strings are JSON-quoted (so
 * whitespace and control characters are visible) and cut to 80 characters; other values are named
 * by type. Internal; never throws.
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value.length > MAX_SHOWN
        ? `${JSON.stringify(value.slice(0, MAX_SHOWN))}... (${value.length} characters)`
        : JSON.stringify(value);
    case 'number':
    case 'bigint':
    case 'boolean':
      return `${typeof value} ${String(value)}`;
    case 'undefined':
      return 'undefined';
    case 'object':
      if (value === null) return 'null';
      return Array.isArray(value) ? 'an array' : 'an object';
    default:
      return `a ${typeof value}`;
  }
}
