/* Copy-to-clipboard buttons on highlighted code blocks: an enhancement; without JS
   the code is still selectable. The button sits in the block's corner (absolute), so
   adding it shifts nothing. */
(function () {
  "use strict";
  if (!navigator.clipboard || !window.isSecureContext) return;
  var blocks = document.querySelectorAll(".post-body .highlight");
  if (!blocks.length) return;

  var status = document.createElement("span");
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  document.body.appendChild(status);

  Array.prototype.forEach.call(blocks, function (block) {
    var pre = block.querySelector("pre");
    if (!pre) return;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "copy-code";
    button.textContent = "Copy";
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(pre.innerText.replace(/\n$/, "")).then(
        function () { button.textContent = "Copied"; status.textContent = "Code copied to the clipboard"; },
        function () { button.textContent = "Copy failed"; status.textContent = "Could not copy the code"; }
      );
      setTimeout(function () { button.textContent = "Copy"; }, 2000);
    });
    block.appendChild(button);
  });
})();
