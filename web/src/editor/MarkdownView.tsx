/** Renders parsed Markdown (workflow/markdown.ts) as React elements: no HTML string is ever injected. */
import { createElement, type ReactNode } from 'react';
import { type Inline, parseMarkdown } from '../workflow/markdown';

function inlines(list: Inline[]): ReactNode[] {
  return list.map((n, i) => {
    switch (n.kind) {
      case 'text':
        return n.text;
      case 'code':
        return <code key={i}>{n.text}</code>;
      case 'em':
        return <em key={i}>{inlines(n.children)}</em>;
      case 'strong':
        return <strong key={i}>{inlines(n.children)}</strong>;
      case 'link':
        return (
          <a key={i} href={n.href} target="_blank" rel="noreferrer noopener">
            {inlines(n.children)}
          </a>
        );
    }
  });
}

export function MarkdownView({ text }: { text: string }) {
  return (
    <div className="lg-markdown">
      {parseMarkdown(text).map((b, i) => {
        switch (b.kind) {
          case 'heading':
            return createElement(`h${b.level}`, { key: i }, inlines(b.children));
          case 'paragraph':
            return <p key={i}>{inlines(b.children)}</p>;
          case 'code':
            return (
              <pre key={i}>
                <code>{b.text}</code>
              </pre>
            );
          case 'list': {
            const items = b.items.map((it, j) => <li key={j}>{inlines(it)}</li>);
            return b.ordered ? <ol key={i}>{items}</ol> : <ul key={i}>{items}</ul>;
          }
        }
      })}
    </div>
  );
}
