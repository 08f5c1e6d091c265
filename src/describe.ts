const MAX_LENGTH = 80;

/**
 * Renders any value briefly for an error message: strings quoted, `NaN`, `10n`, `function handle`,
 * `a Map`, or compact JSON cut at 80 characters. Never throws (not even on cycles or hostile getters).
 * @example
 * describeValue('2');        // '"2"'
 * describeValue(new Map());  // 'a Map'
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return clip(JSON.stringify(value));
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint':
      return `${value}n`;
    case 'symbol':
      return value.toString();
    case 'function':
      return value.name === '' ? 'an anonymous function' : `function ${value.name}`;
    case 'object':
      return value === null ? 'null' : describeObject(value);
    default:
      return String(value);
  }
}

function describeObject(value: object): string {
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== null && proto !== Object.prototype && !Array.isArray(value)) {
    const name = constructorName(proto);
    return name === undefined ? 'an object with a foreign prototype' : `${/^[aeio]/i.test(name) ? 'an' : 'a'} ${name}`;
  }
  try {
    const json = JSON.stringify(value);
    return json === undefined ? String(value) : clip(json);
  } catch {
    return Array.isArray(value) ? 'an array that is not JSON' : 'an object that is not JSON';
  }
}

function constructorName(proto: unknown): string | undefined {
  try {
    const ctor: unknown = (proto as { constructor?: unknown }).constructor;
    return typeof ctor === 'function' && ctor.name !== '' ? ctor.name : undefined;
  } catch {
    return undefined;
  }
}

function clip(text: string): string {
  return text.length <= MAX_LENGTH ? text : `${text.slice(0, MAX_LENGTH - 1)}…`;
}
