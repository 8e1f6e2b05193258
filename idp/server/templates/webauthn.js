// The only script of the pages: the WebAuthn calls, which browsers offer to JavaScript alone.
// A form marked data-webauthn="create" or "get" asks the server for options (POST to its
// data-begin URL with the form's fields), calls the authenticator, puts the JSON result into the
// form's "response" field and submits the form as usual; the server answers with a page.
// A "get" form marked data-conditional also offers passkeys in the username's autofill.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) return;

  function bytes(s) {
    var b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
    var out = new Uint8Array(b.length);
    for (var i = 0; i < b.length; i++) out[i] = b.charCodeAt(i);
    return out.buffer;
  }
  function text(buf) {
    var a = new Uint8Array(buf), s = "";
    for (var i = 0; i < a.length; i++) s += String.fromCharCode(a[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function ids(list) {
    return (list || []).map(function (c) { return Object.assign({}, c, { id: bytes(c.id) }); });
  }
  function creationOptions(o) {
    var pk = Object.assign({}, o.publicKey);
    pk.challenge = bytes(pk.challenge);
    pk.user = Object.assign({}, pk.user, { id: bytes(pk.user.id) });
    pk.excludeCredentials = ids(pk.excludeCredentials);
    return { publicKey: pk };
  }
  function requestOptions(o) {
    var pk = Object.assign({}, o.publicKey);
    pk.challenge = bytes(pk.challenge);
    pk.allowCredentials = ids(pk.allowCredentials);
    return { publicKey: pk };
  }
  function json(cred) {
    var r = cred.response, out = {
      id: cred.id, rawId: text(cred.rawId), type: cred.type,
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: text(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = text(r.attestationObject);
      if (r.getTransports) out.response.transports = r.getTransports();
    } else {
      out.response.authenticatorData = text(r.authenticatorData);
      out.response.signature = text(r.signature);
      if (r.userHandle) out.response.userHandle = text(r.userHandle);
    }
    // extension results may hold ArrayBuffers; none of the ones asked for do
    return JSON.stringify(out);
  }
  function begin(form) {
    var data = new URLSearchParams(new FormData(form));
    data.delete("response");
    return fetch(form.dataset.begin, {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" }
    }).then(function (res) {
      if (!res.ok) throw new Error("begin " + res.status);
      return res.json();
    });
  }
  function fail(form, e) {
    if (e && e.name === "AbortError") return;
    var box = form.querySelector("[data-webauthn-error]");
    if (box) { box.hidden = false; box.textContent = box.dataset.text; }
  }
  function finish(form, cred) {
    form.querySelector("input[name=response]").value = json(cred);
    form.submit();
  }

  var conditional = null;
  function run(form) {
    if (conditional) { conditional.abort(); conditional = null; }
    begin(form).then(function (o) {
      if (form.dataset.webauthn === "create") return navigator.credentials.create(creationOptions(o));
      return navigator.credentials.get(requestOptions(o));
    }).then(function (cred) { if (cred) finish(form, cred); }, function (e) { fail(form, e); });
  }

  document.querySelectorAll("form[data-webauthn]").forEach(function (form) {
    form.hidden = false;
    form.addEventListener("submit", function (ev) { ev.preventDefault(); run(form); });
    if (form.dataset.conditional !== undefined && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
        if (!ok) return;
        conditional = new AbortController();
        var signal = conditional.signal;
        begin(form).then(function (o) {
          var opts = requestOptions(o);
          opts.mediation = "conditional";
          opts.signal = signal;
          return navigator.credentials.get(opts);
        // the autofill offer failing is not the person's doing (they did not pick a passkey):
        // no alert; the button stays for when they do
        }).then(function (cred) { if (cred) finish(form, cred); }, function () {});
      });
    }
  });
  document.querySelectorAll("[data-needs-webauthn]").forEach(function (el) { el.hidden = true; });
})();
