// The chat widget's demo host page. It embeds the widget exactly as a customer's site would,
// with a <script src=".../widget.js" data-key=...> tag, passing the bot key from the page
// contract (#key=... or the form), ?lang= as data-locale and ?customer= as data-customer-id.

import { LANGUAGES, pickLanguage, translate } from '../shared/i18n.js';
import { saveKey, takeKey } from '../shared/key.js';

const STORE = 'kb.chatDemoKey'; // a bot key: kept apart from the agent tools' key
const $ = (name) => document.querySelector(`[data-kb="${name}"]`);
const params = new URLSearchParams(location.search);
let lang = pickLanguage(params.get('lang'), navigator.languages);

function refresh() {
  document.documentElement.lang = lang;
  translate(document, lang);
}

function embed(key) {
  const script = document.createElement('script');
  script.src = new URL('widget.js', import.meta.url).href;
  script.dataset.key = key;
  script.dataset.locale = lang;
  if (params.get('customer')) script.dataset.customerId = params.get('customer');
  document.body.append(script);
}

for (const [code, name] of Object.entries(LANGUAGES)) {
  $('lang').append(new Option(name, code, false, code === lang));
}
$('lang').addEventListener('change', () => {
  lang = $('lang').value;
  refresh();
  document.querySelector('kb-chat')?.setAttribute('locale', lang);
});
// What a real site would do here: open its live chat with the conversation so far.
document.addEventListener('kb-handoff', () => { $('host-handoff').hidden = false; });
$('key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const key = $('key-input').value.trim();
  saveKey(key, STORE);
  $('key-form').hidden = true;
  embed(key);
});

refresh();
const key = takeKey(STORE);
if (key) embed(key);
else $('key-form').hidden = false;
