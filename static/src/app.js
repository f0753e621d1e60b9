/* Behaviour kept out of the pages, so the Content-Security-Policy can forbid inline script. */
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });

  /* A form shown again with problems: focus moves to their summary, which links each to its field. */
  var summary = document.querySelector("[data-error-summary]");
  if (summary) { summary.focus(); }

  /* A quiz keeps each answer on the server as it is picked; without script its "Save answers" button does. */
  document.querySelectorAll("form[data-autosave]").forEach(function (form) {
    var status = form.querySelector("[data-save-status]");
    var say = function (text) { if (status) { status.textContent = text; } };
    var pending = Promise.resolve();
    var saving = 0;
    form.addEventListener("change", function () {
      var body = new FormData(form);
      saving += 1;
      pending = pending.then(function () {
        return fetch(form.dataset.autosave, {
          method: "POST", body: body, credentials: "same-origin", headers: { "Accept": "application/json" }
        }).then(function (response) {
          return response.json().then(function (answer) {
            if (response.ok) {
              say("Saved: " + answer.saved + " of " + answer.questions + " answered.");
            } else {
              say("Not saved: " + answer.error);
            }
          });
        }).catch(function () {
          say("Not saved: the connection was lost. Your answers are still on this page; use Save answers.");
        }).then(function () { saving -= 1; });
      });
    });
    /* A submission waits for the saves already on their way, so that it is the last word. */
    form.addEventListener("submit", function (event) {
      if (saving > 0) {
        event.preventDefault();
        var submitter = event.submitter;
        pending.then(function () { form.requestSubmit(submitter); });
      }
    });
  });
});
