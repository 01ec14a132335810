// A wide table scrolls sideways inside its own box (.table-responsive) on a phone or a zoomed
// screen. A keyboard user can scroll such a box only once it takes focus, so while it is too
// narrow for its table the box becomes a named region in the Tab order; once the table fits,
// it leaves the Tab order again (a box the page marked focusable itself is left alone). The
// boxes are looked at again when the window is resized, when the page changes (a dashboard
// draws its tables after loading, and again on each filter) and when a folded section opens.
(function () {
  "use strict";

  var MARK = "data-scroll-region";

  function nameOf(box) {
    var caption = box.querySelector("caption");
    if (caption && caption.textContent.trim()) {
      return caption.textContent.trim();
    }
    // The nearest heading before the box names what its table lists.
    var headings = document.querySelectorAll("main h1, main h2, main h3, main h4");
    var name = "";
    headings.forEach(function (heading) {
      if (heading.compareDocumentPosition(box) & Node.DOCUMENT_POSITION_FOLLOWING) {
        name = heading.textContent.trim();
      }
    });
    return name ? name + " (table)" : "Table";
  }

  function update() {
    document.querySelectorAll(".table-responsive").forEach(function (box) {
      if (box.hasAttribute("tabindex") && !box.hasAttribute(MARK)) {
        return;
      }
      var scrolls = box.scrollWidth > box.clientWidth + 1;
      if (scrolls && !box.hasAttribute(MARK)) {
        box.setAttribute(MARK, "");
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", nameOf(box));
      } else if (!scrolls && box.hasAttribute(MARK)) {
        ["tabindex", "role", "aria-label", MARK].forEach(function (name) {
          box.removeAttribute(name);
        });
      }
    });
  }

  var pending = null;
  function soon() {
    window.cancelAnimationFrame(pending);
    pending = window.requestAnimationFrame(update);
  }
  window.addEventListener("resize", soon);
  // "toggle" does not bubble: listened for on its way down instead.
  document.addEventListener("toggle", soon, true);
  new MutationObserver(soon).observe(document.documentElement, {childList: true, subtree: true});
  if (document.readyState === "complete") {
    update();
  } else {
    window.addEventListener("load", update);
  }
})();
