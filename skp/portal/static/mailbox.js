// The message forms work without JavaScript. With it, a choice (an address, "Ongematchte
// schulden") shows only the option that is chosen.
(function () {
  "use strict";
  document.querySelectorAll("fieldset[data-choice]").forEach(function (choice) {
    var radios = choice.querySelectorAll(
      'input[type="radio"][name="' + choice.getAttribute("data-choice") + '"]');
    var options = Array.prototype.filter.call(
      choice.querySelectorAll("[data-option]"), function (option) {
        return option.parentElement === choice;
      });
    function show() {
      var chosen = "";
      radios.forEach(function (radio) { if (radio.checked) { chosen = radio.value; } });
      options.forEach(function (option) {
        option.hidden = option.getAttribute("data-option") !== chosen;
      });
    }
    radios.forEach(function (radio) { radio.addEventListener("change", show); });
    show();
  });
})();
