// Fireline's few behaviours, kept out of the pages: the Content-Security-Policy allows no inline script.
"use strict";

// <button data-confirm="Question?">: the form is sent only if the person confirms.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-confirm]");
  if (button && !window.confirm(button.dataset.confirm)) {
    event.preventDefault();
  }
});
