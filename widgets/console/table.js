// A data table with a CSV download of exactly what it shows: every table in the console,
// and the text alternative under every chart.

import { h } from '../shared/dom.js';

/**
 * `columns`: [{ id: i18n id of the header, key: field name, cell?: (row) => Node|string }];
 * `rows`: objects; `name`: the CSV file's name (without .csv).
 */
export function dataTable({ columns, rows, name, caption }) {
  const head = h('tr', {}, ...columns.map((c) => h('th', { scope: 'col', i18n: c.id })));
  const body = rows.map((row) =>
    h('tr', {}, ...columns.map((c) => h('td', {}, c.cell ? c.cell(row) : text(row[c.key])))),
  );
  const table = h(
    'table',
    { class: 'data', 'data-kb': `table-${name}` },
    caption ? h('caption', { i18n: caption }) : null,
    h('thead', {}, head),
    h('tbody', {}, ...body),
  );
  const download = h('a', {
    class: 'csv',
    'data-kb': `csv-${name}`,
    download: `${name}.csv`,
    href: csvUrl(columns, rows),
    i18n: 'console.csv',
  });
  return h('div', { class: 'table-wrap' }, table, rows.length ? download : h('p', { class: 'muted', i18n: 'console.empty' }));
}

function text(value) {
  return value === null || value === undefined ? '' : String(value);
}

/** RFC 4180 CSV of the rows (the raw values, not the translated labels), as a blob: URL. */
export function csvUrl(columns, rows) {
  const quote = (value) => {
    const s = text(value);
    // A leading =, +, - or @ would be a formula in a spreadsheet: keep it text.
    const safe = /^[=+\-@]/.test(s) ? `'${s}` : s;
    return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
  };
  const lines = [columns.map((c) => c.key), ...rows.map((row) => columns.map((c) => quote(row[c.key])))];
  const csv = lines.map((line) => line.join(',')).join('\r\n') + '\r\n';
  return URL.createObjectURL(new Blob([csv], { type: 'text/csv;charset=utf-8' }));
}
