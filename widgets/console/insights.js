// Insights: topics over time, answered share per channel and locale, and knowledge gaps; each
// chart with its data table under it and a CSV download of that table.

import { h } from '../shared/dom.js';
import { chartFigure, colour, destroyCharts } from './charts.js';
import { dataTable } from './table.js';

const PERIODS = [7, 30, 90];
const TOP_TOPICS = 5;

export async function insightsView(ctx, params) {
  const days = PERIODS.includes(Number(params.get('days'))) ? Number(params.get('days')) : 30;
  const [topics, answered, gaps] = await Promise.all([ctx.api.topics(days), ctx.api.answered(days), ctx.api.gaps(days)]);
  destroyCharts();
  const figures = [topicsFigure(topics), answeredFigure(answered), gapsFigure(gaps)];
  const view = h(
    'div',
    { class: 'stack', 'data-kb': 'insights' },
    h('section', { class: 'card' }, h('h2', { tabindex: '-1', i18n: 'console.insights.heading' }), periodForm(ctx, days)),
    ...figures,
  );
  // Draw once the view is in the document (Chart.js measures its container).
  requestAnimationFrame(() => figures.forEach((f) => f.isConnected && f.draw()));
  return view;
}

function periodForm(ctx, days) {
  const select = h(
    'select',
    { id: 'insights-days', 'data-kb': 'insights-days' },
    ...PERIODS.map((d) => h('option', { value: String(d), selected: d === days, i18n: 'console.insights.days', args: { days: d } })),
  );
  select.addEventListener('change', () => ctx.go({ view: 'insights', days: select.value }));
  return h('div', { class: 'inline narrow' }, h('label', { for: 'insights-days', i18n: 'console.insights.period' }), select);
}

/** Every day of the period (UTC, as the API counts them), oldest first. */
function periodDays(days) {
  const today = Date.parse(new Date().toISOString().slice(0, 10));
  return Array.from({ length: days }, (_, i) => new Date(today - (days - 1 - i) * 86_400_000).toISOString().slice(0, 10));
}

function topicsFigure(report) {
  const top = report.topics.slice(0, TOP_TOPICS);
  const daysSeen = periodDays(report.days);
  // The table lists the days with questions; the chart draws the others as zero.
  const rows = top.flatMap((t) =>
    Object.entries(t.trend.per_day).sort().map(([day, questions]) => ({ topic: t.label, day, questions })),
  );
  return chartFigure({
    name: 'topics',
    heading: 'console.insights.topics',
    alt: 'console.insights.topics_alt',
    config: {
      type: 'line',
      data: {
        labels: daysSeen,
        datasets: top.map((t, i) => ({
          label: t.label,
          data: daysSeen.map((day) => t.trend.per_day[day] ?? 0),
          borderColor: colour(i),
          backgroundColor: colour(i),
        })),
      },
      options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    },
    table: dataTable({
      name: 'topics-over-time',
      columns: [
        { id: 'console.col.topic', key: 'topic' },
        { id: 'console.col.day', key: 'day' },
        { id: 'console.col.questions', key: 'questions' },
      ],
      rows,
    }),
  });
}

function answeredFigure(report) {
  const rows = report.rows.map((r) => ({
    ...r,
    locale: r.locale ?? '',
    share_percent: r.total ? Math.round((100 * r.answered) / r.total) : 0,
  }));
  return chartFigure({
    name: 'answered',
    heading: 'console.insights.answered',
    alt: 'console.insights.answered_alt',
    config: {
      type: 'bar',
      data: {
        labels: rows.map((r) => `${r.channel} · ${r.locale || '?'}`),
        datasets: [{ label: '%', data: rows.map((r) => r.share_percent), backgroundColor: rows.map((r, i) => colour(i)) }],
      },
      options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, max: 100 } } },
    },
    table: dataTable({
      name: 'answered-share',
      columns: [
        { id: 'console.col.channel', key: 'channel' },
        { id: 'console.col.locale', key: 'locale' },
        { id: 'console.col.answered', key: 'answered' },
        { id: 'console.col.questions', key: 'total' },
        { id: 'console.col.share', key: 'share_percent' },
      ],
      rows,
    }),
  });
}

function gapsFigure(report) {
  const rows = report.gaps.map((g) => ({
    topic: g.label,
    questions: g.count,
    open: g.open,
    closed: g.closed,
    channels: Object.keys(g.by_channel).join(' '),
    nearest: g.nearest_article ? `${g.nearest_article.key} ${g.nearest_article.title}` : '',
  }));
  return chartFigure({
    name: 'gaps',
    heading: 'console.insights.gaps',
    alt: 'console.insights.gaps_alt',
    config: {
      type: 'bar',
      data: {
        labels: rows.map((r) => r.topic),
        datasets: [
          { label: 'open', data: rows.map((r) => r.open), backgroundColor: colour(4) },
          { label: 'closed', data: rows.map((r) => r.closed), backgroundColor: colour(2) },
        ],
      },
      options: { indexAxis: 'y', scales: { x: { stacked: true, beginAtZero: true, ticks: { precision: 0 } }, y: { stacked: true } } },
    },
    table: dataTable({
      name: 'gaps',
      columns: [
        { id: 'console.col.topic', key: 'topic' },
        { id: 'console.col.questions', key: 'questions' },
        { id: 'console.col.open', key: 'open' },
        { id: 'console.col.closed', key: 'closed' },
        { id: 'console.col.channels', key: 'channels' },
        { id: 'console.col.nearest', key: 'nearest' },
      ],
      rows,
    }),
  });
}
