// An empirical CDF as a small standalone SVG: one step line per series, x in the series' unit from 0 to
// the largest value, y from 0 to 100 %. Plain text: no plotting library is worth a dependency for this.

export interface Series {
  readonly name: string;
  readonly values: readonly number[];
}

const WIDTH = 640;
const HEIGHT = 360;
const MARGIN = { left: 56, right: 16, top: 36, bottom: 44 };
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];

function escape(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** A "nice" axis end at or above `max`: 1, 2 or 5 times a power of ten. */
export function axisEnd(max: number): number {
  if (!(max > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  return [1, 2, 5, 10].map((m) => m * power).find((end) => end >= max)!;
}

/** The CDF's corners: for each sorted value, (value, fraction below) then (value, fraction at or below). */
export function cdfSteps(values: readonly number[]): Array<[number, number]> {
  const sorted = [...values].sort((a, b) => a - b);
  const steps: Array<[number, number]> = [];
  sorted.forEach((value, i) => {
    steps.push([value, i / sorted.length], [value, (i + 1) / sorted.length]);
  });
  return steps;
}

export function cdfSvg(title: string, unit: string, series: readonly Series[]): string {
  const end = axisEnd(Math.max(0, ...series.flatMap((s) => s.values)));
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (v: number): number => MARGIN.left + (v / end) * plotW;
  const y = (f: number): number => MARGIN.top + (1 - f) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-size="14">${escape(title)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const v = (end * i) / 5;
    const f = i / 5;
    parts.push(`<line x1="${x(v).toFixed(1)}" y1="${y(0)}" x2="${x(v).toFixed(1)}" y2="${y(1)}" stroke="#ddd"/>`,
      `<text x="${x(v).toFixed(1)}" y="${y(0) + 16}" text-anchor="middle">${Number(v.toPrecision(3))}</text>`,
      `<line x1="${x(0)}" y1="${y(f).toFixed(1)}" x2="${x(end)}" y2="${y(f).toFixed(1)}" stroke="#ddd"/>`,
      `<text x="${x(0) - 6}" y="${(y(f) + 4).toFixed(1)}" text-anchor="end">${i * 20}%</text>`);
  }
  parts.push(`<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 8}" text-anchor="middle">${escape(unit)}</text>`);
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const points = [[0, 0] as [number, number], ...cdfSteps(s.values)].map(([v, f]) => `${x(v).toFixed(1)},${y(f).toFixed(1)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${points}"/>`,
      `<rect x="${MARGIN.left + 10}" y="${MARGIN.top + 8 + i * 18}" width="12" height="12" fill="${colour}"/>`,
      `<text x="${MARGIN.left + 28}" y="${MARGIN.top + 18 + i * 18}">${escape(`${s.name} (n=${s.values.length})`)}</text>`);
  });
  parts.push('</svg>', '');
  return parts.join('\n');
}

/** Several cdfSvg charts one above the other in one SVG (one panel per scenario). */
export function stackedSvg(charts: readonly string[]): string {
  const inner = charts.map((chart, i) => chart.trimEnd().replace('<svg xmlns="http://www.w3.org/2000/svg" ', `<svg y="${i * HEIGHT}" `));
  return [`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT * charts.length}" viewBox="0 0 ${WIDTH} ${HEIGHT * charts.length}">`, ...inner, '</svg>', ''].join('\n');
}
