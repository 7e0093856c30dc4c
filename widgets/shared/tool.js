// What the three agent tools share: UI language (?lang=, the <select>, the browser's
// languages), the key (page contract: #key=... or a small form), and error display.

import { createClient, describeError } from './api.js';
import { LANGUAGES, pickLanguage, t, translate } from './i18n.js';
import { AGENT_KEY, forgetKey, saveKey, takeKey } from './key.js';

const LANG_STORE = 'kb.lang';
const $ = (name) => document.querySelector(`[data-kb="${name}"]`);

/**
 * Start a tool page; `ready(ui)` runs once there is a key. `ui.client` calls the API,
 * `ui.refresh()` translates what was added, `ui.busy(on)` marks a request in flight and
 * `ui.fail(err)` shows an error in [data-kb=error].
 */
export function startTool(ready) {
  const query = new URLSearchParams(location.search).get('lang');
  const ui = {
    lang: pickLanguage(query, sessionStorage.getItem(LANG_STORE), navigator.languages),
    client: null,
    t: (id, args) => t(ui.lang, id, args),
    refresh() {
      document.documentElement.lang = ui.lang;
      translate(document, ui.lang);
    },
    /** While a request runs: the ask button is off and [data-kb=busy] says so. */
    busy(on) {
      $('ask').disabled = on;
      $('busy').textContent = on ? ui.t('busy') : '';
      if (on) $('error').hidden = true;
    },
    fail(err, el = $('error')) {
      if (err.status === 401) return askForKey(true); // revoked or mistyped: ask again
      const [id, args] = describeError(err);
      el.hidden = false;
      el.textContent = ui.t(id, args);
    },
  };
  languageSelect(ui);
  let started = false;
  const useKey = (key) => {
    ui.client = createClient({ key });
    $('key-form').hidden = true;
    $('tool').hidden = false;
    $('forget-key').hidden = false;
    if (!started) ready(ui);
    started = true;
  };
  function askForKey(rejected = false) {
    forgetKey(AGENT_KEY);
    $('tool').hidden = true;
    $('forget-key').hidden = true;
    $('key-form').hidden = false;
    $('key-error').hidden = !rejected;
    $('key-input').focus();
  }
  $('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const key = $('key-input').value.trim();
    $('key-input').value = '';
    saveKey(key, AGENT_KEY);
    useKey(key);
  });
  $('forget-key').addEventListener('click', () => askForKey());
  ui.refresh();
  const key = takeKey(AGENT_KEY);
  if (key) useKey(key);
  else askForKey();
  return ui;
}

function languageSelect(ui) {
  const select = $('lang');
  for (const [code, name] of Object.entries(LANGUAGES)) {
    select.append(new Option(name, code, false, code === ui.lang));
  }
  select.addEventListener('change', () => {
    ui.lang = select.value;
    sessionStorage.setItem(LANG_STORE, ui.lang);
    ui.refresh();
    ui.onLanguage?.(); // for what a tool formats itself (dates)
  });
}
