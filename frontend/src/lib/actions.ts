// Svelte actions shared by the screens.

/** Focuses the element once it is on the page (each screen's first field). */
export function autofocus(node: HTMLElement): void {
  node.focus();
}
