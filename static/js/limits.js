// Limited text boxes (tfmot_portal.forms.LimitedWidget): keeps the count beside each box
// live as one types, in the server's words ("120 of 2,000 characters"), and says when the
// text is over the limit. The browser never cuts the text (no maxlength); the server
// refuses what is over the limit and returns the form as typed. No inline script (CSP).
(function () {
  "use strict";
  const number = new Intl.NumberFormat("en-US");

  function update(box, count) {
    const limit = parseInt(box.dataset.limit, 10);
    const length = box.value.replace(/\r\n?/g, "\n").trim().length;
    let text = number.format(length) + " of " + number.format(limit) + " characters";
    if (length > limit) text += ": " + number.format(length - limit) + " over the limit";
    count.textContent = text;
    count.classList.toggle("over", length > limit);
  }

  document.querySelectorAll("[data-limit-for]").forEach(function (count) {
    const box = document.getElementById(count.dataset.limitFor);
    if (!box || !box.dataset.limit) return;
    box.addEventListener("input", function () { update(box, count); });
    update(box, count);
  });
})();
