/** Attributes of an element: strings and booleans become attributes, `on*` functions listeners. */
export type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;
export type Child = Node | string | number | null | undefined | false | Child[];

/**
 * Builds an element. Text is always a text node, never parsed as HTML, so data from the API
 * cannot inject markup.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.slice(2).toLowerCase(), value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces every child of `parent`. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** A labelled meter: a <progress> with its text, so it reads well without the bar. */
export function bar(label: string, value: number, max: number, text: string): HTMLElement {
  const safeMax = max > 0 ? max : 1;
  return h(
    'div',
    { class: 'bar' },
    h('span', { class: 'bar-label' }, label),
    h('progress', {
      max: safeMax,
      value: Math.min(Math.max(value, 0), safeMax),
      'aria-label': `${label}: ${text}`,
    }),
    h('span', { class: 'bar-text' }, text),
  );
}
