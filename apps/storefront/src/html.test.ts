import { describe, expect, it } from 'vitest';
import { escapeHtml, html, jsonForScript } from './html.js';

describe('html', () => {
  it('escapes interpolated text, so catalog text never becomes markup', () => {
    const title = `<img src=x onerror="alert('x')"> & co`;
    expect(html`<p title="${title}">${title}</p>`.markup).toBe(
      '<p title="&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt; &amp; co">&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt; &amp; co</p>',
    );
  });

  it('keeps markup made by html, and joins lists of it', () => {
    const items = ['a<b', 'c'].map((text) => html`<li>${text}</li>`);
    expect(html`<ul>${items}</ul>`.markup).toBe('<ul><li>a&lt;b</li><li>c</li></ul>');
  });

  it('renders false, null and undefined as nothing, numbers as text', () => {
    expect(html`${false}${null}${undefined}${0}${12.5}`.markup).toBe('012.5');
  });

  it('escapes the five characters that matter in text and attributes', () => {
    expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
  });
});

describe('jsonForScript', () => {
  it('cannot end its script block, and still parses to the same value', () => {
    const value = { title: '</script><script>alert(1)</script>', line: 'a\u2028b' };
    const json = jsonForScript(value).markup;
    expect(json).not.toMatch(/<\/script/i);
    expect(JSON.parse(json)).toEqual(value);
  });
});
