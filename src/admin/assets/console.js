// The console's only script, served as a file so that a strict Content-Security-Policy (no inline
// script, no event-handler attributes) holds on every page. Pages ask for behaviour with data-*.
'use strict';

// <form data-confirm="question">: ask before posting.
document.addEventListener('submit', function (event) {
  var question = event.target.getAttribute && event.target.getAttribute('data-confirm');
  if (question && !window.confirm(question)) event.preventDefault();
});

// <button data-preview-width="375">: resize the email preview.
document.addEventListener('click', function (event) {
  var button = event.target.closest && event.target.closest('[data-preview-width]');
  if (!button) return;
  var preview = document.getElementById('preview');
  if (preview) preview.style.width = button.getAttribute('data-preview-width') + 'px';
});

// <div id="progress" data-url="…/progress.json" data-finished="false" data-status="sending">: live
// delivery counts; the page reloads when the edition's status changes or its delivery ends.
(function poll() {
  var progress = document.getElementById('progress');
  if (!progress) return;
  var wasFinished = progress.getAttribute('data-finished') === 'true';
  var status = progress.getAttribute('data-status');
  (function next() {
    fetch(progress.getAttribute('data-url'), { credentials: 'same-origin' })
      .then(function (response) {
        return response.json();
      })
      .then(function (state) {
        Object.keys(state.counts || {}).forEach(function (name) {
          var count = document.getElementById('count-' + name);
          if (count) count.textContent = state.counts[name];
        });
        document.getElementById('status').textContent = state.statusText;
        // Once sending ends, reload so that the failure and resend tables are current.
        if ((state.finished && !wasFinished) || state.status !== status) location.reload();
        wasFinished = state.finished;
      })
      .finally(function () {
        setTimeout(next, 1500);
      });
  })();
})();
