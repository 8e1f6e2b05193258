// The signed-out page (Front-Channel Logout 1.0): once every client's logout page has loaded
// in its iframe, go on to where the client asked; the page's meta refresh does it anyway.
(function () {
  var next = document.getElementById("continue");
  if (!next) return;
  var frames = document.querySelectorAll("iframe.frontchannel");
  var left = frames.length;
  var go = function () { window.location.replace(next.href); };
  if (left === 0) { go(); return; }
  // a frame may have loaded before this script ran: go on after 2 s whatever happens
  setTimeout(go, 2000);
  frames.forEach(function (f) {
    f.addEventListener("load", function () { left -= 1; if (left === 0) go(); });
  });
})();
