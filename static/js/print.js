// A button with data-print prints the page (an inline onclick would be blocked by the
// Content-Security-Policy, which runs only scripts served by the app).
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.addEventListener("click", function () { window.print(); });
});
