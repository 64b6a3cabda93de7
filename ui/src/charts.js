// Time-series charts over uPlot (bundled from npm at build time).
import uPlot from 'uplot';
import { h, fmtClock } from './dom.js';

export const ACTION_COLORS = {
  allow: '#16a34a', block: '#dc2626', throttle: '#d97706', substitute: '#7c3aed',
  redirect: '#0284c7', callout: '#db2777', renew: '#64748b',
};

// A line chart that follows its container's width. series: [{label, color, dash, fill}]
// yFmt formats axis values and the legend.
export function lineChart(series, { height = 240, yFmt = (v) => String(v), yMin = 0, yMax, always = [] } = {}) {
  const box = h('div.chart');
  const legend = h('div.legend');
  const el = h('div.chart-wrap', box, legend);
  const opts = {
    width: 600,
    height,
    cursor: { drag: { x: false, y: false }, points: { size: 6 } },
    legend: { show: false },
    scales: { x: { time: true }, y: { range: (u, lo, hi) => [yMin, Math.max(yMax ?? 0, hi > 0 ? hi * 1.15 : 1)] } },
    axes: [
      { stroke: '#64748b', grid: { stroke: '#eef2f7', width: 1 }, ticks: { stroke: '#e2e8f0' },
        values: (u, ticks) => ticks.map((t) => fmtClock(t)), font: '11px system-ui, sans-serif' },
      { stroke: '#64748b', grid: { stroke: '#eef2f7', width: 1 }, ticks: { stroke: '#e2e8f0' },
        values: (u, ticks) => ticks.map(yFmt), size: 56, font: '11px system-ui, sans-serif' },
    ],
    series: [
      { value: (u, v) => (v == null ? '–' : fmtClock(v)) },
      ...series.map((s) => ({
        label: s.label, stroke: s.color, width: s.width || 2, dash: s.dash,
        fill: s.fill ? s.color + '1f' : undefined, points: { show: false },
        value: (u, v) => (v == null ? '–' : yFmt(v)), show: s.show !== false,
      })),
    ],
  };
  const empty = [[], ...series.map(() => [])];
  let plot = null;
  // The legend lists the series with data in the window (and those in `always`), each with
  // its latest value.
  function drawLegend(data) {
    while (legend.firstChild) legend.removeChild(legend.firstChild);
    series.forEach((s, i) => {
      const ys = data[i + 1] || [];
      const has = ys.some((v) => v > 0);
      if (!has && !always.includes(s.label)) return;
      const last = ys.length ? ys[ys.length - 1] : null;
      legend.append(h('span.legend-item',
        h('span.legend-mark', { style: { borderTopColor: s.color, borderTopStyle: s.dash ? 'dashed' : 'solid' } }),
        s.label, h('strong', last == null ? '–' : yFmt(last))));
    });
  }
  let pending = null;
  const ro = new ResizeObserver(() => {
    const w = Math.max(280, box.clientWidth);
    if (!plot) {
      plot = new uPlot({ ...opts, width: w }, pending || empty, box);
      return;
    }
    if (plot.width !== w) plot.setSize({ width: w, height });
  });
  ro.observe(el);
  return {
    el,
    set(data) {
      drawLegend(data);
      if (plot) plot.setData(data);
      else pending = data;
    },
    dispose() { ro.disconnect(); if (plot) plot.destroy(); },
  };
}
