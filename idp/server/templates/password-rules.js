// The new-password form: each rule of the list beside it is marked met or not as the person
// types, and a polite live region says how many are met. The server checks every rule again
// (idp/core/src/password.rs); without this script the list simply stays as written.
(function () {
  var input = document.getElementById("pw-new");
  var list = document.getElementById("pw-rules");
  var status = document.getElementById("pw-status");
  if (!input || !list || !status) return;
  var rules = list.querySelectorAll("li[data-rule]");
  // the classes idp/core counts: lower case, upper case, digits, anything not a letter or digit
  function classes(v) {
    var n = 0;
    if (/\p{Ll}/u.test(v)) n++;
    if (/\p{Lu}/u.test(v)) n++;
    if (/[0-9]/.test(v)) n++;
    if (/[^\p{Alphabetic}\p{N}]/u.test(v)) n++;
    return n;
  }
  input.addEventListener("input", function () {
    var v = input.value, met = 0, all = 0;
    rules.forEach(function (li) {
      var rule = li.getAttribute("data-rule").split(":"), need = Number(rule[1]), ok;
      if (rule[0] === "length") ok = Array.from(v).length >= need;
      else if (rule[0] === "classes") ok = classes(v) >= need;
      else return;
      all++;
      if (ok) met++;
      if (v) li.setAttribute("data-met", String(ok));
      else li.removeAttribute("data-met");
    });
    status.textContent = v ? status.getAttribute("data-text").replace("{met}", met).replace("{all}", all) : "";
  });
})();
