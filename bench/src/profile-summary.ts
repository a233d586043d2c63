import { readFile } from 'node:fs/promises';

/** One function's share of a CPU profile. */
export interface ProfileEntry {
  function: string;
  /** file:line, shortened to the package or repo path */
  location: string;
  selfMs: number;
  selfPercent: number;
}

/** Where a CPU profile's time went: by function and by package. */
export interface ProfileSummary {
  file: string;
  totalMs: number;
  /** Time not idle (everything but "(idle)"). */
  busyMs: number;
  topFunctions: ProfileEntry[];
  byPackage: { package: string; selfMs: number; selfPercent: number }[];
}

interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }[];
  samples: number[];
  timeDeltas: number[];
}

function shortUrl(url: string): string {
  if (url === '') return '';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) return path.slice(nm + '/node_modules/'.length);
  const repo = path.search(/\/(libs|services|bench)\//);
  return repo >= 0 ? path.slice(repo + 1) : path;
}

/** The package a frame belongs to: an npm package, a repo package (libs/x), node internals, or V8. */
function packageOf(url: string, fn: string): string {
  if (url === '') return fn.startsWith('(') ? fn : '(native)';
  if (url.startsWith('node:')) return 'node';
  const short = shortUrl(url);
  if (url.includes('/node_modules/')) {
    const parts = short.split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  const m = /^(libs|services|bench)\/([^/]+)/.exec(short);
  return m ? `${m[1]}/${m[2]}` : short;
}

/** Reads a `.cpuprofile` (node --cpu-prof) and sums self time per function and per package. */
export async function summarizeProfile(file: string, top = 25): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfByKey = new Map<string, { fn: string; location: string; us: number }>();
  const selfByPackage = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  profile.samples.forEach((id, i) => {
    // timeDeltas[i] is the time since the previous sample: charge it to this sample's frame.
    const us = Math.max(0, profile.timeDeltas[i] ?? 0);
    const node = byNode.get(id);
    if (node === undefined) return;
    const { functionName, url, lineNumber } = node.callFrame;
    const fn = functionName || '(anonymous)';
    totalUs += us;
    if (fn === '(idle)') idleUs += us;
    const location = url === '' ? '' : `${shortUrl(url)}:${lineNumber + 1}`;
    const key = `${fn}@${location}`;
    const entry = selfByKey.get(key) ?? { fn, location, us: 0 };
    entry.us += us;
    selfByKey.set(key, entry);
    const pkg = packageOf(url, fn);
    selfByPackage.set(pkg, (selfByPackage.get(pkg) ?? 0) + us);
  });
  const busyUs = totalUs - idleUs;
  const pctOfBusy = (us: number): number => Math.round((us / Math.max(busyUs, 1)) * 1000) / 10;
  return {
    file,
    totalMs: Math.round(totalUs / 1000),
    busyMs: Math.round(busyUs / 1000),
    topFunctions: [...selfByKey.values()]
      .filter((e) => e.fn !== '(idle)')
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((e) => ({
        function: e.fn,
        location: e.location,
        selfMs: Math.round(e.us / 100) / 10,
        selfPercent: pctOfBusy(e.us),
      })),
    byPackage: [...selfByPackage.entries()]
      .filter(([pkg]) => pkg !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, 15)
      .map(([pkg, us]) => ({
        package: pkg,
        selfMs: Math.round(us / 100) / 10,
        selfPercent: pctOfBusy(us),
      })),
  };
}

/** The summary as text: two aligned lists, percentages of the busy (non-idle) time. */
export function formatProfileSummary(s: ProfileSummary): string {
  const lines = [
    `CPU profile ${s.file}: ${s.totalMs} ms sampled, ${s.busyMs} ms busy`,
    'self time by package (% of busy):',
    ...s.byPackage.map(
      (p) =>
        `  ${p.selfPercent.toFixed(1).padStart(5)} %  ${p.selfMs.toFixed(0).padStart(7)} ms  ${p.package}`,
    ),
    'top functions by self time (% of busy):',
    ...s.topFunctions.map(
      (f) =>
        `  ${f.selfPercent.toFixed(1).padStart(5)} %  ${f.selfMs.toFixed(0).padStart(7)} ms  ${f.function}  ${f.location}`,
    ),
  ];
  return lines.join('\n');
}
