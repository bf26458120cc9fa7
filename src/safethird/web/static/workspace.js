// The one script of the workspace besides htmx: the memo's Print button (without JavaScript
// the page says to use the browser's Print command instead).
document.addEventListener("click", (e) => {
  if (e.target instanceof Element && e.target.id === "print") window.print();
});
document.documentElement.classList.add("js");
