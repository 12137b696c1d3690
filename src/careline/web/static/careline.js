// Small behaviours shared by every page; the pages work without it, this only makes them quicker.
document.addEventListener("htmx:responseError", function (evt) {
  // Show a readable message when a fragment request fails and the server sent no target.
  var flash = document.getElementById("flash");
  if (flash && !evt.detail.xhr.getResponseHeader("HX-Retarget")) {
    flash.innerHTML = '<div class="alert error" role="alert">The request failed (' + evt.detail.xhr.status + "). Please try again.</div>";
  }
});
