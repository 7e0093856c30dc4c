// Charts with Chart.js (vendor/chart.umd.min.js, window.Chart). A chart is a picture for
// sighted readers; its canvas is labelled as an image whose data is in the table under it.

import { h } from '../shared/dom.js';

const PALETTE = ['#0b5cad', '#c2410c', '#1d6b35', '#7e22ce', '#a4161a', '#0f766e', '#854d0e', '#475569'];
let live = []; // charts of the view on screen; a new view destroys the old ones

/** A figure: heading, canvas chart, then `table` (the same data, and its CSV). */
export function chartFigure({ name, heading, alt, config, table }) {
  const canvas = h('canvas', { role: 'img', 'data-kb': `chart-${name}`, i18nAttr: `aria-label:${alt}` });
  const figure = h(
    'figure',
    { class: 'card chart', 'data-kb': `figure-${name}` },
    h('figcaption', {}, h('h3', { i18n: heading })),
    h('div', { class: 'chart-box' }, canvas),
    h('details', { open: true }, h('summary', { i18n: 'console.insights.data' }), table),
  );
  // Drawn once the figure is in the page: Chart.js measures its container.
  figure.draw = () => {
    live.push(
      new globalThis.Chart(canvas, {
        ...config,
        options: { animation: false, responsive: true, maintainAspectRatio: false, ...config.options },
      }),
    );
  };
  return figure;
}

export function destroyCharts() {
  for (const chart of live) chart.destroy();
  live = [];
}

export function colour(index) {
  return PALETTE[index % PALETTE.length];
}
