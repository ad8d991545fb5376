// The 验证码 refresh button (django-simple-captcha's /captcha/refresh/): a new key and image without
// reloading the page. A static file loaded with the page's nonce: the Content-Security-Policy
// refuses inline scripts. Without JavaScript the button stays hidden; reloading the page also
// draws a new code.
(function () {
  "use strict";
  function wire(button) {
    var row = button.closest(".captcha-row");
    if (!row) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      button.disabled = true;
      fetch(button.dataset.captchaRefresh, {
        headers: { "X-Requested-With": "XMLHttpRequest" },
        credentials: "same-origin",
      })
        .then(function (response) {
          if (!response.ok) throw new Error(response.status);
          return response.json();
        })
        .then(function (data) {
          row.querySelector("img.captcha").src = data.image_url;
          row.querySelector("input[type=hidden]").value = data.key;
          var answer = row.querySelector("input[type=text]");
          answer.value = "";
          answer.focus();
        })
        .catch(function () {
          // Keep the old code: it stays valid until it expires or is tried.
        })
        .finally(function () {
          button.disabled = false;
        });
    });
  }
  function init() {
    document.querySelectorAll("[data-captcha-refresh]").forEach(wire);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
