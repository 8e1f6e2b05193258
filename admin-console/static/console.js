// The console's few behaviours, progressive: every page works without them.
// - A button with data-confirm asks in a dialog before its form is sent; with
//   data-confirm-name the dialog also asks for that name typed (the server checks it too).
// - A button with data-copy copies the text of the element it names.
// - A form kept by the server (#kept: after a refusal or a sign-in in between) is filled in
//   again, with the refusal moved beside it.
(function () {
  "use strict";
  var pending = null;

  function dialog() { return document.getElementById("confirm"); }

  document.addEventListener("submit", function (e) {
    var form = e.target, button = e.submitter;
    if (!button || !button.dataset.confirm) return;
    if (form.dataset.confirmed === "1") { form.dataset.confirmed = ""; return; }
    var d = dialog();
    if (!d || typeof d.showModal !== "function") {
      if (!window.confirm(button.dataset.confirm)) { e.preventDefault(); e.stopImmediatePropagation(); }
      return;
    }
    e.preventDefault();
    e.stopImmediatePropagation();
    pending = { form: form, button: button };
    document.getElementById("confirm-text").textContent = button.dataset.confirm;
    var effect = document.getElementById("confirm-effect");
    effect.textContent = button.dataset.effect || "";
    var nameBox = document.getElementById("confirm-name-box");
    var name = document.getElementById("confirm-name");
    var ok = document.getElementById("confirm-ok");
    name.value = "";
    if (button.dataset.confirmName) {
      nameBox.hidden = false;
      document.getElementById("confirm-name-want").textContent = button.dataset.confirmName;
      ok.disabled = true;
    } else {
      nameBox.hidden = true;
      ok.disabled = false;
    }
    d.showModal();
    (button.dataset.confirmName ? name : document.getElementById("confirm-cancel")).focus();
  }, true);

  document.addEventListener("input", function (e) {
    if (e.target.id !== "confirm-name" || !pending) return;
    document.getElementById("confirm-ok").disabled =
      e.target.value.trim() !== pending.button.dataset.confirmName;
  });

  document.addEventListener("click", function (e) {
    var t = e.target;
    if (t.id === "confirm-cancel") { dialog().close(); pending = null; return; }
    if (t.id === "confirm-ok" && pending) {
      var form = pending.form, button = pending.button;
      var typed = document.getElementById("confirm-name").value.trim();
      pending = null;
      dialog().close();
      if (button.dataset.confirmName) {
        var input = form.querySelector("input[name=confirm_name]") || document.createElement("input");
        input.type = "hidden"; input.name = "confirm_name"; input.value = typed;
        form.appendChild(input);
      }
      form.dataset.confirmed = "1";
      form.requestSubmit(button);
      return;
    }
    if (t.dataset && t.dataset.copy) {
      var el = document.getElementById(t.dataset.copy);
      if (el && navigator.clipboard) {
        navigator.clipboard.writeText(el.textContent).then(function () { t.textContent = "✓ " + t.textContent.replace(/^✓ /, ""); });
      }
    }
  });

  function refill() {
    var kept = document.getElementById("kept");
    if (!kept || kept.dataset.done) return;
    kept.dataset.done = "1";
    var form = null;
    document.querySelectorAll("form").forEach(function (f) {
      if (!form && f.getAttribute("action") === kept.dataset.action) form = f;
    });
    if (!form) return;
    // the refusal beside the form it is about
    var alert = document.querySelector("main > p[role=alert]");
    if (alert) form.parentNode.insertBefore(alert, form);
    var values = {};
    kept.querySelectorAll("input").forEach(function (i) {
      (values[i.dataset.k] = values[i.dataset.k] || []).push(i.value);
    });
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name === "csrf" || el.type === "file" || el.type === "hidden") return;
      var v = values[el.name];
      if (el.type === "checkbox" || el.type === "radio") {
        el.checked = !!v && v.indexOf(el.value) >= 0;
      } else if (v) {
        el.value = v[0];
      }
    });
  }
  document.addEventListener("DOMContentLoaded", refill);
  document.addEventListener("htmx:afterSettle", refill);
})();
