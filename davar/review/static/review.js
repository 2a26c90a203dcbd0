// davar review: keyboard grading.  Outside a text field: j / n next student, k / p previous,
// (by the key's place, so a Persian layout works too), 1-9 toggle a rubric item, c comment, g points, s save and go to the next student.
// In a text field: Ctrl+Enter saves and goes on, Escape leaves the field.
(function () {
  "use strict";
  const form = document.getElementById("grade");
  if (!form) { return; }
  const points = document.getElementById("points");
  const items = Array.from(form.querySelectorAll(".rubric-item"));
  const max = parseFloat(form.dataset.max);

  function fromRubric() {
    let sum = 0;
    items.forEach(function (box) { if (box.checked) { sum += parseFloat(box.dataset.points); } });
    points.value = String(Math.max(0, Math.min(max, sum)));
  }
  items.forEach(function (box) { box.addEventListener("change", fromRubric); });

  function go(id) {
    const link = document.getElementById(id);
    if (link) { window.location.assign(link.href); }
  }

  document.addEventListener("keydown", function (event) {
    const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(event.target.tagName) && event.target.type !== "checkbox";
    if (typing) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        (event.target.form || form).requestSubmit();  // the field's own form (the rubric's, an override's)
      }
      if (event.key === "Escape") { event.target.blur(); }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    const digit = "123456789".indexOf(event.key) + 1 || "۱۲۳۴۵۶۷۸۹".indexOf(event.key) + 1;
    if (digit && digit <= items.length) {
      event.preventDefault();
      items[digit - 1].checked = !items[digit - 1].checked;
      fromRubric();
    } else if (event.code === "KeyJ" || event.code === "KeyN") { go("next"); }
    else if (event.code === "KeyK" || event.code === "KeyP") { go("previous"); }
    else if (event.code === "KeyC") { event.preventDefault(); document.getElementById("comment").focus(); }
    else if (event.code === "KeyG") { event.preventDefault(); points.focus(); points.select(); }
    else if (event.code === "KeyS") { event.preventDefault(); form.requestSubmit(); }
  });
})();
