// Review form: autosave drafts (optimistic locking with the version field) and a
// sanitized Markdown preview rendered by the server. No inline script (CSP).
(function () {
  "use strict";
  const form = document.getElementById("review-form");
  if (!form) return;
  const status = document.getElementById("autosave-status");
  const version = document.getElementById("id_version");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  let timer = null;
  let busy = false;
  // Typed but not yet saved: leaving the page asks first (the autosave waits 1.5 s).
  let dirty = false;
  let generation = 0;

  function post(url, body) {
    return fetch(url, { method: "POST", body: body, headers: { "X-CSRFToken": csrf }, credentials: "same-origin" });
  }

  function save() {
    if (busy) { schedule(); return; }
    busy = true;
    const sent = generation;
    const data = new FormData(form);
    data.delete("action");
    post(form.dataset.autosaveUrl, data).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, status: response.status, body: body }; });
    }).then(function (result) {
      if (result.ok) {
        version.value = result.body.version;
        if (sent === generation) dirty = false;
        status.textContent = "Draft saved at " + result.body.saved_at + ".";
      } else {
        status.textContent = result.body.error || "Could not save the draft.";
      }
    }).catch(function () {
      status.textContent = "Offline: the draft will be saved when you click Save draft.";
    }).finally(function () { busy = false; });
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(save, 1500);
  }

  form.addEventListener("input", function (event) {
    dirty = true;
    generation++;
    status.textContent = "Unsaved changes…";
    schedule();
    const target = event.target;
    if (target.dataset && target.dataset.preview) {
      clearTimeout(target._previewTimer);
      target._previewTimer = setTimeout(function () {
        const data = new FormData();
        data.append("text", target.value);
        post(form.dataset.previewUrl, data).then(function (r) { return r.json(); }).then(function (body) {
          // The server sanitizes with nh3 before it answers.
          document.getElementById(target.dataset.preview).innerHTML = body.html || "";
        });
      }, 600);
    }
  });
  form.addEventListener("submit", function () { clearTimeout(timer); dirty = false; });
  window.addEventListener("beforeunload", function (event) {
    if (!dirty) return;
    event.preventDefault();
    event.returnValue = "";  // the browser shows its own "leave the page?" question
  });
})();
