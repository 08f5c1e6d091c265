/**
 * Summarizes a V8 `.cpuprofile` (from `node --cpu-prof`): the top frames by self time, and herald's own
 * functions (files under src/) by inclusive time.
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/workers/profile-catch-up.ts
 *   npx tsx bench/profile-top.ts /tmp/prof/CPU.*.cpuprofile [count]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
}

const [file, countText] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: profile-top.ts <file.cpuprofile> [count]');
  process.exit(2);
}
const count = Number(countText ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const totalMs = (profile.endTime - profile.startTime) / 1000;
const perSample = totalMs / Math.max(1, profile.samples.length);
const byId = new Map(profile.nodes.map((node) => [node.id, node]));

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules\/)/, '$1').replace(/^.*\/work\/[^/]+\/(src|bench|test)\//, '$1/');
  return `${functionName || '(anonymous)'} ${where === '' ? '' : `${where}:${lineNumber + 1}`}`.trim();
}

const self = new Map<string, number>();
for (const node of profile.nodes) self.set(frameName(node), (self.get(frameName(node)) ?? 0) + (node.hitCount ?? 0) * perSample);

// Inclusive time: a frame counts once per sample even when it recurses.
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const inclusive = new Map<string, number>();
for (const node of profile.nodes) {
  const hits = (node.hitCount ?? 0) * perSample;
  if (hits === 0) continue;
  const seen = new Set<string>();
  for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
    const name = frameName(byId.get(id) as ProfileNode);
    if (seen.has(name)) continue;
    seen.add(name);
    inclusive.set(name, (inclusive.get(name) ?? 0) + hits);
  }
}

function print(title: string, table: Map<string, number>, filter: (name: string) => boolean): void {
  console.log(`\n${title}`);
  const rows = [...table].filter(([name]) => filter(name)).sort((a, b) => b[1] - a[1]).slice(0, count);
  for (const [name, ms] of rows) console.log(`${ms.toFixed(0).padStart(8)} ms ${((ms / totalMs) * 100).toFixed(1).padStart(5)} %  ${name}`);
}

console.log(`profile: ${totalMs.toFixed(0)} ms, ${profile.samples.length} samples`);
print('top frames by self time', self, () => true);
print("herald's functions (src/) by inclusive time", inclusive, (name) => / src\//.test(name));
