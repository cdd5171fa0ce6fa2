// Sends a chat message without reloading the page. Without this script the form posts
// and the server redirects to the conversation, which shows the same thing.
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!form.matches("form.send") || !window.fetch || !window.DOMParser) return;
  event.preventDefault();
  form.setAttribute("aria-busy", "true");
  form.querySelector("button[type=submit]").disabled = true;
  try {
    const body = new URLSearchParams(new FormData(form));
    const response = await fetch(form.action, { method: "POST", body, credentials: "same-origin" });
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const main = page.querySelector("main");
    if (!main) throw new Error("no page");
    document.querySelector("main").replaceWith(main);
    document.title = page.title;
    if (response.redirected && response.url !== location.href) {
      history.pushState(null, "", response.url);
    }
    const latest = document.getElementById("latest");
    if (latest) latest.scrollIntoView({ block: "nearest" });
    const field = document.getElementById("message");
    if (field) field.focus();
  } catch {
    form.submit(); // the page without the script's help
  }
});
