// Upload an ISO with a progress bar: the raw file body goes to POST /api/v1/contents
// (the API's ingest), authenticated by the session cookie and the page's CSRF header.
// Without JavaScript the form posts as multipart to /floor/upload instead.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form || !window.XMLHttpRequest) { return; }
  form.addEventListener("submit", function (event) {
    var file = form.elements["image"].files[0];
    if (!file) { return; }
    event.preventDefault();
    var params = new URLSearchParams({
      title: form.elements["title"].value,
      description: form.elements["description"].value,
      tags: form.elements["tags"].value
    });
    var box = document.getElementById("upload-progress");
    var bar = document.getElementById("upload-bar");
    var percent = document.getElementById("upload-percent");
    var result = document.getElementById("upload-result");
    var button = form.querySelector("button[type=submit]");
    box.hidden = false;
    button.disabled = true;
    result.textContent = "";
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/contents?" + params.toString());
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader("X-CSRF-Token", form.elements["csrf_token"].value);
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        var p = Math.round(100 * e.loaded / e.total);
        bar.value = p;
        percent.textContent = p + "%";
      }
    });
    xhr.addEventListener("load", function () {
      button.disabled = false;
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (ignored) { body = {}; }
      if (xhr.status === 201) {
        bar.value = 100;
        percent.textContent = "100%";
        result.innerHTML = "";
        var link = document.createElement("a");
        link.href = "/catalog/" + encodeURIComponent(body.id);
        link.textContent = "Added \u201c" + body.title + "\u201d (" + body.id + ")";
        link.id = "upload-done";
        result.appendChild(link);
      } else {
        result.textContent = "Not added: " + (body.detail || ("HTTP " + xhr.status));
      }
    });
    xhr.addEventListener("error", function () {
      button.disabled = false;
      result.textContent = "The upload was interrupted; check the connection and try again.";
    });
    xhr.send(file);
  });
})();
