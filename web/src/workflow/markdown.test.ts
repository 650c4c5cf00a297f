import { describe, expect, it } from 'vitest';
import { parseInline, parseMarkdown, safeHref } from './markdown';

describe('Markdown for notes', () => {
  it('parses headings, paragraphs, lists and fenced code into blocks', () => {
    const src =
      '## Model Link\n\n**checkpoints**\n\n- [a.safetensors](https://x.org/a) (6 GB)\n- second\n\n1. one\n2. two\n\n```\n📂 models/\n  └ a\n```\ntail line\ncontinues';
    expect(parseMarkdown(src)).toEqual([
      { kind: 'heading', level: 2, children: [{ kind: 'text', text: 'Model Link' }] },
      { kind: 'paragraph', children: [{ kind: 'strong', children: [{ kind: 'text', text: 'checkpoints' }] }] },
      {
        kind: 'list',
        ordered: false,
        items: [
          [
            { kind: 'link', href: 'https://x.org/a', children: [{ kind: 'text', text: 'a.safetensors' }] },
            { kind: 'text', text: ' (6 GB)' },
          ],
          [{ kind: 'text', text: 'second' }],
        ],
      },
      { kind: 'list', ordered: true, items: [[{ kind: 'text', text: 'one' }], [{ kind: 'text', text: 'two' }]] },
      { kind: 'code', text: '📂 models/\n  └ a' },
      { kind: 'paragraph', children: [{ kind: 'text', text: 'tail line continues' }] },
    ]);
  });

  it('parses emphasis, inline code and escapes', () => {
    expect(parseInline('a *b* _c_ __d__ `e*f` \\*g')).toEqual([
      { kind: 'text', text: 'a ' },
      { kind: 'em', children: [{ kind: 'text', text: 'b' }] },
      { kind: 'text', text: ' ' },
      { kind: 'em', children: [{ kind: 'text', text: 'c' }] },
      { kind: 'text', text: ' ' },
      { kind: 'strong', children: [{ kind: 'text', text: 'd' }] },
      { kind: 'text', text: ' ' },
      { kind: 'code', text: 'e*f' },
      { kind: 'text', text: ' *g' },
    ]);
    expect(parseInline('2 * 3')).toEqual([{ kind: 'text', text: '2 * 3' }]);
  });

  it('keeps raw HTML as text and drops unsafe link targets', () => {
    expect(parseMarkdown('<img src=x onerror=alert(1)>')).toEqual([
      { kind: 'paragraph', children: [{ kind: 'text', text: '<img src=x onerror=alert(1)>' }] },
    ]);
    expect(parseInline('see [click](javascript:void) now')).toEqual([{ kind: 'text', text: 'see click now' }]);
  });

  it('allows web, mail and relative links only', () => {
    expect(safeHref('https://a.b/c')).toBe('https://a.b/c');
    expect(safeHref('mailto:x@y.z')).toBe('mailto:x@y.z');
    expect(safeHref('docs/readme.md')).toBe('docs/readme.md');
    expect(safeHref('JavaScript:alert(1)')).toBeNull();
    expect(safeHref('data:text/html,x')).toBeNull();
    expect(safeHref('//evil.example/x')).toBeNull();
  });
});
