// Inline SVG icons (no icon font, nothing fetched), 20x20, stroke currentColor.
import { svg } from './dom.js';

const paths = {
  pulse: ['M2 10h3l2-5 3 10 2-5h6'],
  inbox: ['M3 12l2-7h10l2 7', 'M3 12v4h14v-4h-4l-1 2H8l-1-2z'],
  ban: ['M10 3a7 7 0 1 0 0 14 7 7 0 0 0 0-14z', 'M5 5l10 10'],
  sliders: ['M4 5h8', 'M15 5h1', 'M4 10h2', 'M9 10h7', 'M4 15h9', 'M16 15h0', 'M13 3v4', 'M7 8v4', 'M14 13v4'],
  list: ['M7 5h10', 'M7 10h10', 'M7 15h10', 'M3 5h1', 'M3 10h1', 'M3 15h1'],
  logout: ['M8 4H4v12h4', 'M12 6l4 4-4 4', 'M16 10H8'],
  search: ['M9 3a6 6 0 1 0 0 12A6 6 0 0 0 9 3z', 'M13.5 13.5L17 17'],
  check: ['M4 10l4 4 8-8'],
  x: ['M5 5l10 10', 'M15 5L5 15'],
  up: ['M10 15V5', 'M5 10l5-5 5 5'],
  shield: ['M10 2l6 3v5c0 4-3 7-6 8-3-1-6-4-6-8V5z'],
  globe: ['M10 3a7 7 0 1 0 0 14 7 7 0 0 0 0-14z', 'M3 10h14', 'M10 3c2 2 3 4.5 3 7s-1 5-3 7c-2-2-3-4.5-3-7s1-5 3-7z'],
  server: ['M3 4h14v5H3z', 'M3 11h14v5H3z', 'M6 6.5h1', 'M6 13.5h1'],
  plus: ['M10 4v12', 'M4 10h12'],
  refresh: ['M16 10a6 6 0 1 1-2-4.5', 'M16 4v3h-3'],
  alert: ['M10 3l8 14H2z', 'M10 8v4', 'M10 14.5v.5'],
};

export function icon(name, cls = 'icon') {
  return svg('svg', { class: cls, viewBox: '0 0 20 20', width: 18, height: 18, fill: 'none',
    stroke: 'currentColor', 'stroke-width': 1.7, 'stroke-linecap': 'round', 'stroke-linejoin': 'round',
    'aria-hidden': 'true' }, (paths[name] || []).map((d) => svg('path', { d })));
}

export function logo() {
  return svg('svg', { class: 'logo', viewBox: '0 0 32 32', width: 34, height: 34, 'aria-hidden': 'true' },
    svg('rect', { width: 32, height: 32, rx: 8, fill: '#2563eb' }),
    svg('path', { d: 'M16 6l8 3.5v6c0 5-3.5 8.6-8 10.5-4.5-1.9-8-5.5-8-10.5v-6z', fill: '#fff', opacity: '.95' }),
    svg('path', { d: 'M12 16l3 3 5-6', fill: 'none', stroke: '#2563eb', 'stroke-width': 2.4,
      'stroke-linecap': 'round', 'stroke-linejoin': 'round' }));
}
