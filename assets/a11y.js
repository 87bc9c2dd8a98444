// Plots get an accessible name (role="img" + aria-label) from the label of the block around them:
// Gradio draws a visible label but does not tie it to the plot.
(() => {
  const name = () => {
    document.querySelectorAll(".js-plotly-plot:not([aria-label])").forEach((plot) => {
      const block = plot.closest(".block");
      const label = block && block.querySelector("[data-testid='block-label']");
      if (label && label.textContent.trim()) {
        plot.setAttribute("role", "img");
        plot.setAttribute("aria-label", label.textContent.trim());
      }
    });
  };
  new MutationObserver(name).observe(document.documentElement, {childList: true, subtree: true});
})();
