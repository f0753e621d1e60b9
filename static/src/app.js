/* Behaviour kept out of the pages, so the Content-Security-Policy can forbid inline script. */
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
});
