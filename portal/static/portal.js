// Herald web UI helpers (no framework; htmx does the rest).
// - [data-copy="#id"]: copies the text of #id to the clipboard and says so.
// - [data-dialog-open="#id"] / [data-dialog-close]: opens or closes a <dialog>.
// - #flash toasts fade out after a while.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var source = document.querySelector(copy.getAttribute("data-copy"));
      if (source && navigator.clipboard) {
        navigator.clipboard.writeText(source.textContent.trim()).then(function () {
          var label = copy.textContent;
          copy.textContent = "Copied";
          setTimeout(function () { copy.textContent = label; }, 1500);
        });
      }
      return;
    }
    var opener = event.target.closest("[data-dialog-open]");
    if (opener) {
      var dialog = document.querySelector(opener.getAttribute("data-dialog-open"));
      if (dialog) { dialog.showModal(); }
      return;
    }
    var closer = event.target.closest("[data-dialog-close]");
    if (closer) {
      var open = closer.closest("dialog");
      if (open) { open.close(); }
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "flash") {
      var toasts = event.detail.target.querySelectorAll(".toast");
      toasts.forEach(function (toast) {
        setTimeout(function () { toast.remove(); }, 8000);
      });
    }
  });
})();
