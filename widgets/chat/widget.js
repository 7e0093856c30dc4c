/*
 * kb-service chat widget loader: the one line a site embeds.
 *
 *   <script src="https://kb.example/widgets/chat/widget.js" data-key="BOT_KEY"
 *           data-customer-id="c-1042" data-locale="pl" data-api="https://kb.example"></script>
 *
 * A classic script (not a module) so that document.currentScript can tell us our own URL and
 * data-* attributes; the widget itself is an ES module imported from beside this file.
 */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || !script.dataset.key) {
    console.error('kb chat widget: the <script> tag needs data-key');
    return;
  }
  var here = new URL(script.src, location.href);
  var options = {
    key: script.dataset.key,
    api: (script.dataset.api || here.origin).replace(/\/+$/, ''),
    customerId: script.dataset.customerId || '',
    locale: script.dataset.locale || '',
  };
  import(new URL('chat-widget.js', here).href)
    .then(function (module) {
      module.mount(options);
    })
    .catch(function (err) {
      console.error('kb chat widget: could not load', err);
    });
})();
