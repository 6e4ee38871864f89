(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var panel = document.getElementById('fact-panel');
  var body = document.getElementById('fact-body');
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function show(claimId) {
    var claim = data.claims[claimId];
    if (!claim) return;
    var fact = data.facts[claim.fact_id];
    document.querySelectorAll('mark.active').forEach(function (m) { m.classList.remove('active'); });
    document.querySelectorAll('mark[data-claim-id="' + CSS.escape(claimId) + '"]').forEach(function (m) {
      m.classList.add('active');
    });
    body.textContent = '';
    body.appendChild(el('h2', null, fact ? fact.statement : claim.text));
    if (fact) {
      var line = el('p');
      line.appendChild(el('span', 'badge ' + fact.verdict, fact.verdict));
      line.appendChild(document.createTextNode(' origins: ' + fact.origins.join(', ') + ' · ' + fact.id));
      body.appendChild(line);
      fact.members.forEach(function (m) {
        var other = data.claims[m.claim_id] || {};
        var box = el('div', 'member' + (m.claim_id === claimId ? ' this' : ''));
        box.appendChild(el('div', 'meta', m.article_id + ' · ' + m.relation + ' · origin: ' + m.origin));
        box.appendChild(el('blockquote', null, other.quote || ''));
        box.appendChild(el('div', 'meta', other.text || ''));
        box.addEventListener('click', function () {
          var target = document.querySelector('mark[data-claim-id="' + CSS.escape(m.claim_id) + '"]');
          if (target) target.scrollIntoView({block: 'center'});
        });
        body.appendChild(box);
      });
    }
    panel.hidden = false;
  }
  document.addEventListener('click', function (event) {
    var mark = event.target.closest('mark.claim');
    if (mark) { show(mark.getAttribute('data-claim-id')); event.stopPropagation(); return; }
    var item = event.target.closest('[data-show-claim]');
    if (item) { show(item.getAttribute('data-show-claim')); }
  });
  document.getElementById('fact-close').addEventListener('click', function () { panel.hidden = true; });
  // Deep link: report.html#claim=<id> opens that claim's fact (shareable, and testable headless).
  function fromHash() {
    var m = /^#claim=(.+)$/.exec(window.location.hash);
    if (m) show(decodeURIComponent(m[1]));
  }
  window.addEventListener('hashchange', fromHash);
  fromHash();
})();
