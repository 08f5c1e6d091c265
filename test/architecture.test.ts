/** The layout rules newcomers rely on: small files, and dependencies that point one way. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const src = fileURLToPath(new URL('../src', import.meta.url));

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const importsOf = (path: string): string[] => [...readFileSync(path, 'utf8').matchAll(/^(?:import|export)[^'"]*from '([^']+)'/gm)].map((m) => m[1] as string);

describe('src/ layout', () => {
  it('has no file over 300 lines', () => {
    const long = filesUnder(src)
      .map((path) => [relative(src, path), readFileSync(path, 'utf8').split('\n').length - 1] as const)
      .filter(([, lines]) => lines > 300);
    assert.deepEqual(long, []);
  });

  it('has nothing in src/handler/ importing from src/cluster/ or src/app/', () => {
    const upward = filesUnder(join(src, 'handler')).flatMap((path) =>
      importsOf(path).filter((target) => /^\.\.\/(cluster|app)\//.test(target)).map((target) => `${relative(src, path)} → ${target}`));
    assert.deepEqual(upward, []);
  });

  it('keeps handler/types.ts and supervisor/types.ts from importing each other', () => {
    const handlerTypes = importsOf(join(src, 'handler', 'types.ts'));
    const supervisorTypes = importsOf(join(src, 'supervisor', 'types.ts'));
    const mutual = handlerTypes.includes('../supervisor/types.ts') && supervisorTypes.includes('../handler/types.ts');
    assert.equal(mutual, false);
    assert.equal(handlerTypes.includes('../supervisor/types.ts'), false);
  });
});
