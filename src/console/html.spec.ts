import { html, raw } from './html';

describe('html templates', () => {
  it('escapes every interpolated value, attributes included, and keeps Html as it is', () => {
    const name = `<script>alert("x")</script> & 'co'`;
    expect(html`<p title="${name}">${name}</p>`.text)
      .toBe('<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;</p>');
    expect(html`<div>${html`<b>${'a<b'}</b>`}${raw('<i>ok</i>')}</div>`.text).toBe('<div><b>a&lt;b</b><i>ok</i></div>');
  });

  it('joins arrays and prints nothing for null, undefined and false, but prints 0', () => {
    expect(html`<ul>${['a', 'b'].map((x) => html`<li>${x}</li>`)}</ul>${null}${undefined}${false}${0}`.text).toBe('<ul><li>a</li><li>b</li></ul>0');
  });
});
