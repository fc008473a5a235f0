/**
 * HTML from template literals, escaped by default: every interpolated value is text unless it is
 * itself markup made by `html` (or a list of those). Catalog titles and categories come from
 * whoever feeds PUT /products, so nothing of theirs may reach the page as markup.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (char) => ESCAPES[char]!);

/** Markup that is already safe: made by `html`, never from outside text. */
export class SafeHtml {
  constructor(readonly markup: string) {}
  toString(): string {
    return this.markup;
  }
}

export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

const render = (value: HtmlValue): string => {
  if (value instanceof SafeHtml) return value.markup;
  if (Array.isArray(value)) return value.map(render).join('');
  // false/null/undefined render as nothing, so `${condition && html`…`}` reads naturally.
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
};

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let markup = strings[0]!;
  values.forEach((value, i) => (markup += render(value) + strings[i + 1]!));
  return new SafeHtml(markup);
}

/**
 * JSON for a `<script type="application/json">` block: `<` is escaped so that no value (a title
 * with `</script>` in it) can end the block, and U+2028/9 stay harmless for older parsers.
 */
export const jsonForScript = (value: unknown): SafeHtml =>
  new SafeHtml(
    JSON.stringify(value)
      .replace(/</g, '\\u003c')
      .replace(/\u2028/g, '\\u2028')
      .replace(/\u2029/g, '\\u2029'),
  );
