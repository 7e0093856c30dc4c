// Phone-agent panel: the caller's history first (what they were told on every channel, and
// whether it changed since), then a script to read aloud and the article number to give.

import { alternatives, citation, confidence, feedback } from '../shared/answer-parts.js';
import { h } from '../shared/dom.js';
import { startTool } from '../shared/tool.js';

const $ = (name) => document.querySelector(`[data-kb="${name}"]`);

startTool((ui) => {
  let entries = [];
  const customer = () => $('customer-id').value.trim();

  $('customer-form').addEventListener('submit', (event) => {
    event.preventDefault();
    loadTimeline();
  });
  $('ask-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const question = $('question').value.trim();
    if (!question) return;
    ui.busy(true);
    try {
      const request = { question, channel: 'phone', customer_id: customer() || undefined };
      const response = await ui.client.answer(request);
      show(response);
      if (customer()) await loadTimeline();
    } catch (err) {
      ui.fail(err);
    } finally {
      ui.busy(false);
    }
  });
  // Dates are formatted for the UI language, so they are redrawn when it changes.
  ui.onLanguage = () => renderTimeline();

  function show(response) {
    const body = response.status === 'answered' ? script(response) : handoff(response);
    $('result').replaceChildren(...body.filter(Boolean));
    $('result').hidden = false;
    ui.refresh();
  }

  function script(response) {
    const { rendering, answer } = response;
    return [
      h('p', { class: 'field-title', i18n: 'phone.script' }),
      h('p', { class: 'script', 'data-kb': 'script', lang: answer.locale, text: rendering.script }),
      h(
        'p',
        { class: 'spoken-key', 'data-kb': 'spoken-key' },
        h('span', { i18n: 'phone.key' }),
        ': ',
        h('strong', { text: answer.key }),
        ' ',
        h('span', { lang: answer.locale, text: `(${rendering.spoken_key})` }),
      ),
      h('p', {
        class: 'muted',
        i18n: 'phone.seconds',
        args: { seconds: Math.round(rendering.estimated_seconds) },
      }),
      citation(answer),
      confidence(response.confidence),
      feedback((helpful) => ui.client.feedback(response.answer_id, { helpful, channel: 'phone' })),
      alternatives(response.alternatives),
    ];
  }

  function handoff(response) {
    return [
      h(
        'div',
        { class: 'handoff', 'data-kb': 'handoff' },
        h('p', {}, h('strong', { i18n: 'noanswer.agent' })),
        h('p', { text: response.handoff?.suggestion ?? '' }),
        h('p', { class: 'script', 'data-kb': 'script', text: response.rendering.script }),
      ),
      alternatives(response.alternatives),
    ];
  }

  async function loadTimeline() {
    const id = customer();
    $('timeline-card').hidden = !id;
    if (!id) return;
    try {
      entries = (await ui.client.timeline(id)).entries;
      renderTimeline();
    } catch (err) {
      ui.fail(err);
    }
  }

  function renderTimeline() {
    const when = new Intl.DateTimeFormat(ui.lang, { dateStyle: 'medium', timeStyle: 'short' });
    const items = entries.map((entry) => timelineEntry(entry, when));
    const empty = h('li', { class: 'muted', i18n: 'phone.timeline_empty' });
    $('timeline').replaceChildren(...(items.length ? items : [empty]));
    ui.refresh();
  }

  /** One thing the customer was told: when, where, what, from which version, still true? */
  function timelineEntry(entry, when) {
    const withdrawn = entry.current_version === null;
    const state = withdrawn ? 'phone.withdrawn' : entry.changed_since ? 'phone.changed' : 'phone.current';
    const badge = h('span', {
      class: `badge ${entry.changed_since ? 'changed' : 'current'}`,
      i18n: state,
      args: { version: entry.current_version },
    });
    const source = { key: entry.key ?? entry.article_id, version: entry.version };
    return h(
      'li',
      {
        'data-kb': 'timeline-entry',
        'data-article-id': entry.article_id,
        'data-version': entry.version,
        'data-channel': entry.channel,
        'data-changed-since': String(entry.changed_since),
      },
      h('div', { class: 'muted' },
        `${when.format(new Date(entry.created_at))} · `,
        h('span', { i18n: `channel.${entry.channel}` })),
      h('div', { text: `“${entry.question}”` }),
      h('div', {}, h('span', { i18n: 'phone.told', args: source }), ' ', badge),
    );
  }
});
