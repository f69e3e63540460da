// The new-address inputs are required only while "A new address" is chosen, so a
// saved address can be sent without them (without JavaScript the server checks).
(function () {
  "use strict";
  const form = document.querySelector('form[action="/orders"]');
  if (!form) { return; }
  function sync() {
    const picked = form.querySelector('input[name="ship"]:checked');
    const fresh = !picked || picked.value === "new";
    form.querySelectorAll('input[data-required="yes"]').forEach(function (input) {
      input.required = fresh;
      input.setAttribute("aria-required", fresh ? "true" : "false");
    });
  }
  form.addEventListener("change", function (event) {
    if (event.target.name === "ship") { sync(); }
  });
  sync();
})();
